use std::sync::Arc;

use keyturn::clipboard::MemoryClipboard;
use keyturn::keychain::MemoryKeychain;
use keyturn::settings::SettingsFile;
use keyturn::Desktop;
use keyturn_server::{testkit, Options, SystemClock};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

pub const EMAIL: &str = "ann@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

/// The real account server on a free loopback port with a fresh database and one account.
pub struct TestServer {
    pub url: String,
    pub runtime: tokio::runtime::Runtime,
    _server: testkit::TestServer,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    /// With `serve`'s options as a test sets them (`--require-second-factor`).
    pub fn start_with(options: Options) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(async {
            let server = testkit::TestServer::start_with(Arc::new(SystemClock), options)
                .await
                .unwrap();
            server.add_account(EMAIL, PASSWORD).await.unwrap();
            server
        });
        Self {
            url: server.url.clone(),
            runtime,
            _server: server,
        }
    }

    /// A client of the same server, as another device or a third-party app.
    pub fn client(&self) -> keyturn_client::Client {
        keyturn_client::Client::new(&self.url).unwrap()
    }
}

/// A URL where nothing listens.
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

pub struct TestApp {
    _app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    pub keychain: Arc<MemoryKeychain>,
    pub clipboard: Arc<MemoryClipboard>,
}

impl TestApp {
    pub fn new(server_url: &str) -> Self {
        Self::with_keychain(server_url, Arc::new(MemoryKeychain::default()))
    }

    pub fn with_keychain(server_url: &str, keychain: Arc<MemoryKeychain>) -> Self {
        let clipboard = Arc::new(MemoryClipboard::default());
        let desktop = Desktop::new(
            keychain.clone(),
            SettingsFile::in_memory(),
            Some(server_url.to_owned()),
            clipboard.clone(),
        );
        let app = keyturn::app_builder(mock_builder())
            .manage(desktop)
            .build(keyturn::context())
            .unwrap();
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        Self {
            _app: app,
            webview,
            keychain,
            clipboard,
        }
    }

    /// The runtime's exit event, as when the user quits.
    pub fn quit(&self) {
        keyturn::on_run_event(self._app.handle(), &tauri::RunEvent::Exit);
    }

    /// Invokes a command as the page would; `Err` is the `{code, message}` the page would get.
    pub fn invoke(&self, command: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: command.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.webview, request).map(|body| body.deserialize::<Value>().unwrap())
    }

    pub fn sign_in(&self, server_url: &str, password: &str) -> Result<Value, Value> {
        self.invoke(
            "sign_in",
            json!({"email": EMAIL, "password": password, "serverUrl": server_url}),
        )
    }
}

pub fn code(error: Value) -> String {
    error["code"].as_str().unwrap().to_owned()
}
