//! Load from a second process: `wrk` (Debian's package) over loopback, fed a file of requests that its Lua
//! script sends in turn (each thread its own share), and reporting through the script as one JSON line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// One request: method, path, headers, body.
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: "GET",
            path: path.into(),
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.headers.push(("Content-Type", "application/json".to_owned()));
        self.body = body.to_string();
        self
    }

    /// One tab-separated line: method, path, the headers as `name: value`, then the body (last, may be
    /// empty). None of the parts holds a tab or a newline.
    fn line(&self) -> String {
        let mut parts = vec![self.method.to_owned(), self.path.clone()];
        parts.extend(self.headers.iter().map(|(k, v)| format!("{k}: {v}")));
        parts.push(self.body.clone());
        parts.join("\t")
    }

    /// Sends this request once over a fresh connection to `url` (`http://HOST:PORT`) and returns the status
    /// line and the start of the body: what a failed run's requests were answered, for its error message.
    fn send_once(&self, url: &str) -> Result<String> {
        use std::io::Read;
        let authority = url.strip_prefix("http://").context("the server's URL is plain http")?;
        let mut stream = std::net::TcpStream::connect(authority)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n",
            self.method, self.path
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        stream.write_all(head.as_bytes())?;
        stream.write_all(self.body.as_bytes())?;
        let mut answer = Vec::new();
        stream.take(4096).read_to_end(&mut answer)?;
        let answer = String::from_utf8_lossy(&answer);
        let status = answer.lines().next().unwrap_or_default();
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        Ok(format!("{status} {body}"))
    }
}

/// What one wrk run measured.
#[derive(Debug, Deserialize)]
pub struct Outcome {
    pub requests: u64,
    pub duration_us: u64,
    pub errors: u64,
    pub non2xx: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// How many times a thread ran out of requests and started its list again (0 for once-only requests).
    pub wrapped: u64,
    /// When some answers were not 2xx: the list's last request sent once more after the run, and its answer.
    #[serde(skip)]
    pub sample: Option<String>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }
}

const SCRIPT: &str = r#"
local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("id", #threads)
end

function init(args)
  lines = {}
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  stride = tonumber(args[2])
  -- A list shorter than the threads is shared: every thread starts within it.
  first = (id - 1) % #lines + 1
  pos = first
  wraps = 0
end

local function split(line)
  local parts = {}
  for part in (line .. "\t"):gmatch("([^\t]*)\t") do parts[#parts + 1] = part end
  return parts
end

function request()
  if pos > #lines then
    pos = first
    wraps = wraps + 1
  end
  local parts = split(lines[pos])
  pos = pos + stride
  local headers = {}
  for i = 3, #parts - 1 do
    local name, value = parts[i]:match("^([^:]+): (.*)$")
    headers[name] = value
  end
  local body = parts[#parts]
  if body == "" then body = nil end
  return wrk.format(parts[1], parts[2], headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  local wrapped = 0
  for _, thread in ipairs(threads) do wrapped = wrapped + (thread:get("wraps") or 0) end
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"p50_us":%f,"p99_us":%f,"max_us":%f,"wrapped":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max, wrapped))
end
"#;

pub struct Wrk {
    dir: PathBuf,
}

impl Wrk {
    pub fn new(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("requests.lua"), SCRIPT)?;
        Ok(Self { dir: dir.to_owned() })
    }

    /// Sends `requests` in turn for `secs` seconds over `connections` connections and `threads` threads.
    pub fn run(
        &self,
        name: &str,
        url: &str,
        requests: &[Request],
        connections: u32,
        threads: u32,
        secs: u32,
    ) -> Result<Outcome> {
        let list = self.dir.join(format!("{name}.requests"));
        let mut file = std::io::BufWriter::new(std::fs::File::create(&list)?);
        for request in requests {
            writeln!(file, "{}", request.line())?;
        }
        file.flush()?;
        drop(file);
        println!(
            "bench: {name}: wrk -t{threads} -c{connections} -d{secs}s, {} requests to choose from",
            requests.len()
        );
        let output = Command::new("wrk")
            .args([
                "-t",
                &threads.to_string(),
                "-c",
                &connections.to_string(),
                "-d",
                &format!("{secs}s"),
            ])
            .args(["--timeout", "10s", "-s"])
            .arg(self.dir.join("requests.lua"))
            .arg(url)
            .arg("--")
            .arg(&list)
            .arg(threads.to_string())
            .output()
            .context("running wrk (apt-get install wrk)")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!("wrk failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        }
        let json = stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .with_context(|| format!("no result from wrk: {stdout}"))?;
        let mut outcome: Outcome = serde_json::from_str(json)?;
        if outcome.non2xx > 0 {
            if let Some(last) = requests.last() {
                let answer = last.send_once(url).unwrap_or_else(|e| format!("no answer: {e}"));
                outcome.sample = Some(format!("{} {} answers {answer}", last.method, last.path));
            }
        }
        println!(
            "bench: {name}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {} errors, {} not 2xx",
            outcome.per_second(),
            outcome.p50_us / 1000.0,
            outcome.p99_us / 1000.0,
            outcome.max_us / 1000.0,
            outcome.errors,
            outcome.non2xx
        );
        Ok(outcome)
    }
}
