//! A minimal Tauri 2 window: what Keyturn's launch and memory are measured against.

fn main() {
    if let Err(error) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("the baseline window could not start: {error}");
        std::process::exit(1);
    }
}
