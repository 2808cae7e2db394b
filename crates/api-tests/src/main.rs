#[tokio::main]
async fn main() -> anyhow::Result<()> {
    keyturn_server::cli::main().await
}
