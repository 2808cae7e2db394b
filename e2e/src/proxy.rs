//! A loopback TCP relay between the app and the account server that the story can unplug and plug back in,
//! as a network going away and coming back: unplugged, nothing listens on its port and every connection it
//! carried is cut.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct Proxy {
    listen: SocketAddr,
    server: SocketAddr,
    /// The accept loop and every relayed connection, so unplugging ends them all.
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    /// Relays a free loopback port to `server_url` (`http://127.0.0.1:PORT`).
    pub async fn start(server_url: &str) -> Result<Self> {
        let server: SocketAddr = server_url
            .trim_start_matches("http://")
            .parse()
            .with_context(|| format!("a loopback server address: {server_url}"))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let proxy = Self {
            listen: listener.local_addr()?,
            server,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        Ok(proxy)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// The network goes away: the port stops listening and open connections are cut.
    pub fn unplug(&self) {
        println!("e2e: the network goes away");
        for task in self.tasks.lock().unwrap_or_else(PoisonError::into_inner).drain(..) {
            task.abort();
        }
    }

    /// The network comes back, on the same address.
    pub async fn plug(&self) -> Result<()> {
        println!("e2e: the network comes back");
        // An aborted accept loop drops its listener when the runtime next gets to it.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match TcpListener::bind(self.listen).await {
                Ok(listener) => {
                    self.serve(listener);
                    return Ok(());
                }
                Err(e) if tokio::time::Instant::now() > deadline => {
                    return Err(e).with_context(|| format!("listening on {} again", self.listen));
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }

    fn serve(&self, listener: TcpListener) {
        let (server, tasks) = (self.server, Arc::clone(&self.tasks));
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(server).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                tasks
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(relay.abort_handle());
            }
        });
        self.tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(accept.abort_handle());
    }
}
