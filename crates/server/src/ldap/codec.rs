//! ldap3_proto's codec behind a gate: a message's declared size and nesting depth are checked from its BER
//! headers before any of it is buffered past the limit or handed to the (recursive) BER parser. Without it,
//! a peer that declares a 2 GB message is buffered until it stops sending, and a message of a few hundred
//! KiB of nested sequences recurses the parser off the end of a worker's stack.

use bytes::BytesMut;
use ldap3_proto::{LdapCodec, LdapMsg};
use tokio_util::codec::{Decoder, Encoder};

/// Nesting of BER values in one message at most. A bind is 3 deep, a search with an `(&(|(!…)))` filter a
/// dozen; 32 leaves room for any real client.
pub const MAX_DEPTH: usize = 32;

pub struct GatedCodec {
    inner: LdapCodec,
    max_bytes: usize,
}

impl GatedCodec {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            inner: LdapCodec::new(Some(max_bytes)),
            max_bytes,
        }
    }
}

fn refused(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_owned())
}

impl Decoder for GatedCodec {
    type Item = LdapMsg;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<LdapMsg>, std::io::Error> {
        match whole_message(buf, self.max_bytes, MAX_DEPTH)? {
            None => Ok(None),
            Some(_) => self.inner.decode(buf),
        }
    }
}

impl Encoder<LdapMsg> for GatedCodec {
    type Error = std::io::Error;

    fn encode(&mut self, msg: LdapMsg, buf: &mut BytesMut) -> Result<(), std::io::Error> {
        self.inner.encode(msg, buf)
    }
}

/// One BER header at `at`: where its contents start, how long they are, and whether it is constructed.
/// `Ok(None)` when the header is not all there yet.
fn header(buf: &[u8], at: usize) -> Result<Option<(usize, usize, bool)>, std::io::Error> {
    let Some(&tag) = buf.get(at) else { return Ok(None) };
    let mut pos = at + 1;
    if tag & 0x1f == 0x1f {
        // A high tag number: at most 4 more bytes.
        loop {
            let Some(&byte) = buf.get(pos) else { return Ok(None) };
            pos += 1;
            if byte & 0x80 == 0 {
                break;
            }
            if pos - at > 5 {
                return Err(refused("a BER tag longer than LDAP uses"));
            }
        }
    }
    let Some(&first) = buf.get(pos) else { return Ok(None) };
    pos += 1;
    let len = match first {
        0..=0x7f => usize::from(first),
        // The indefinite form, which LDAP forbids (RFC 4511 §5.1).
        0x80 => return Err(refused("a BER length of the indefinite form")),
        _ => {
            let count = usize::from(first & 0x7f);
            if count > 4 {
                return Err(refused("a BER length beyond 4 bytes"));
            }
            let Some(bytes) = buf.get(pos..pos + count) else {
                return Ok(None);
            };
            pos += count;
            bytes.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b))
        }
    };
    Ok(Some((pos, len, tag & 0x20 != 0)))
}

/// The length of the whole first message in `buf` once it is all there (`None` before), or an error when it
/// declares more than `max_bytes` or nests deeper than `max_depth`: known from its first bytes, before it is
/// buffered, and walked without recursion.
pub fn whole_message(buf: &[u8], max_bytes: usize, max_depth: usize) -> Result<Option<usize>, std::io::Error> {
    let Some((start, len, constructed)) = header(buf, 0)? else {
        return Ok(None);
    };
    let end = start
        .checked_add(len)
        .ok_or_else(|| refused("a BER length that overflows"))?;
    if end > max_bytes {
        return Err(refused("an LDAP message larger than this server reads"));
    }
    if buf.len() < end {
        return Ok(None);
    }
    if !constructed {
        return Err(refused("an LDAP message that is not a sequence"));
    }
    // The ends of the constructed values we are inside, innermost last.
    let mut open = vec![end];
    let mut at = start;
    while let Some(&inner_end) = open.last() {
        if at == inner_end {
            open.pop();
            continue;
        }
        let (contents, len, constructed) =
            header(&buf[..inner_end], at)?.ok_or_else(|| refused("a BER value cut off by its container"))?;
        let value_end = contents
            .checked_add(len)
            .filter(|e| *e <= inner_end)
            .ok_or_else(|| refused("a BER value longer than its container"))?;
        if constructed {
            if open.len() >= max_depth {
                return Err(refused("an LDAP message nested deeper than this server reads"));
            }
            open.push(value_end);
            at = contents;
        } else {
            at = value_end;
        }
    }
    Ok(Some(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sequence of `depth` nested sequences around one integer.
    fn nested(depth: usize) -> Vec<u8> {
        let mut value = vec![0x02, 0x01, 0x05];
        for _ in 0..depth {
            let mut outer = vec![0x30];
            let len = value.len();
            if len < 0x80 {
                outer.push(len as u8);
            } else {
                outer.extend([0x82, (len >> 8) as u8, len as u8]);
            }
            outer.extend(value);
            value = outer;
        }
        value
    }

    #[test]
    fn a_message_is_whole_only_once_all_its_bytes_are_there() {
        let message = nested(3);
        assert_eq!(whole_message(&message, 1024, 32).unwrap(), Some(message.len()));
        for cut in 0..message.len() {
            assert_eq!(whole_message(&message[..cut], 1024, 32).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn a_declared_size_beyond_the_limit_is_refused_from_the_first_bytes() {
        // SEQUENCE, length 0x7fffffff: refused after 6 bytes, nothing more buffered.
        assert!(whole_message(&[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff], 16 * 1024, 32).is_err());
        assert!(
            whole_message(&[0x30, 0x80], 16 * 1024, 32).is_err(),
            "indefinite length"
        );
        assert!(whole_message(&[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9], 16 * 1024, 32).is_err());
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused_without_recursion() {
        assert!(whole_message(&nested(31), 1 << 20, 32).is_ok());
        assert!(whole_message(&nested(33), 1 << 20, 32).is_err());
        // Far deeper than any stack would take recursively.
        assert!(whole_message(&nested(100_000), 1 << 30, 32).is_err());
    }

    #[test]
    fn a_value_longer_than_its_container_is_refused() {
        // SEQUENCE of 3 holding an INTEGER that claims 5 bytes.
        assert!(whole_message(&[0x30, 0x03, 0x02, 0x05, 0x01], 1024, 32).is_err());
    }
}
