//! A small vocabulary for driving the window: find what a user would see, by the words on it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

/// How long anything may take to appear: argon2 in a debug app build is the slowest step.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct Window {
    pub client: Client,
    shots: PathBuf,
    prefix: String,
    /// axe-core's script, loaded into the page for [`Window::check_accessibility`].
    axe: Option<PathBuf>,
}

impl Window {
    /// Launches the app through the driver.
    pub async fn launch(driver_url: &str, app: &Path, shots: &Path, prefix: &str, axe: Option<&Path>) -> Result<Self> {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("tauri:options".into(), serde_json::json!({ "application": app }));
        let client = ClientBuilder::rustls()?
            .capabilities(capabilities)
            .connect(driver_url)
            .await
            .context("starting the app through tauri-driver")?;
        Ok(Self {
            client,
            shots: shots.to_owned(),
            prefix: prefix.to_owned(),
            axe: axe.map(Path::to_owned),
        })
    }

    pub async fn close(self) -> Result<()> {
        self.client.close().await?;
        Ok(())
    }

    /// The first element matching `xpath` that is displayed, waiting for it.
    pub async fn visible(&self, xpath: &str) -> Result<Element> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            for element in self.client.find_all(Locator::XPath(xpath)).await.unwrap_or_default() {
                if element.is_displayed().await.unwrap_or(false) {
                    return Ok(element);
                }
            }
            if Instant::now() > deadline {
                bail!("nothing visible matches {xpath}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of each element matching `xpath` now, in page order (one entry per list item, where an
    /// element's own text would run them together).
    pub async fn texts(&self, xpath: &str) -> Result<Vec<String>> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::XPath(xpath)).await? {
            texts.push(element.text().await?.trim().to_owned());
        }
        Ok(texts)
    }

    /// Waits until nothing matching `xpath` is displayed.
    pub async fn gone(&self, xpath: &str) -> Result<()> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let mut shown = false;
            for element in self.client.find_all(Locator::XPath(xpath)).await.unwrap_or_default() {
                shown |= element.is_displayed().await.unwrap_or(false);
            }
            if !shown {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{xpath} is still visible");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn button(&self, name: &str) -> Result<Element> {
        self.visible(&button_xpath(name)).await
    }

    pub async fn click(&self, name: &str) -> Result<()> {
        println!("e2e: {}: click {name}", self.prefix);
        self.button(name)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {name}"))
    }

    /// The input whose `<label>` says `label`.
    pub async fn field(&self, label: &str) -> Result<Element> {
        self.visible(&format!("//input[@id=//label[normalize-space()='{label}']/@for]"))
            .await
    }

    pub async fn fill(&self, label: &str, text: &str) -> Result<()> {
        println!("e2e: {}: fill {label}", self.prefix);
        let field = self.field(label).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Waits until some visible element's text is exactly `text` (after trimming).
    pub async fn text(&self, text: &str) -> Result<Element> {
        self.visible(&format!("//*[normalize-space()=\"{text}\"]")).await
    }

    pub async fn text_of(&self, id: &str) -> Result<String> {
        Ok(self
            .visible(&format!("//*[@id='{id}']"))
            .await?
            .text()
            .await?
            .trim()
            .to_owned())
    }

    /// Waits until `id`'s text is `expected`.
    pub async fn wait_text(&self, id: &str, expected: &str) -> Result<()> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let now = self.text_of(id).await.unwrap_or_default();
            if now == expected {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("#{id} says {now:?}, not {expected:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn screenshot(&self, name: &str) -> Result<()> {
        println!("e2e: {}: screenshot {name}", self.prefix);
        // Let transitions and focus rings settle.
        tokio::time::sleep(Duration::from_millis(300)).await;
        // What the X server shows, cropped to the window: the real window as a user sees it. (WebDriver's own
        // screenshot stalls WebKitWebDriver after the first one under Xvfb.)
        let (x, y, width, height) = self.client.get_window_rect().await?;
        let path = self.shots.join(format!("{}-{name}.png", self.prefix));
        let status = std::process::Command::new("import")
            .args([
                "-window",
                "root",
                "-crop",
                &format!("{width}x{height}+{x}+{y}"),
                "+repage",
            ])
            .arg(&path)
            .status()
            .context("running import (imagemagick)")?;
        anyhow::ensure!(status.success(), "import failed for {}", path.display());
        Ok(())
    }

    pub async fn page_source(&self) -> Result<String> {
        Ok(self.client.source().await?)
    }

    pub async fn focused_text(&self) -> Result<String> {
        Ok(self.client.active_element().await?.text().await?.trim().to_owned())
    }

    /// The `id` of the element that has the keyboard focus.
    pub async fn focused_id(&self) -> Result<String> {
        Ok(self
            .client
            .active_element()
            .await?
            .attr("id")
            .await?
            .unwrap_or_default())
    }

    /// Presses Escape where the focus is, as a keyboard user would.
    pub async fn press_escape(&self) -> Result<()> {
        println!("e2e: {}: press Escape", self.prefix);
        let key = char::from(fantoccini::key::Key::Escape).to_string();
        self.client.active_element().await?.send_keys(&key).await?;
        Ok(())
    }

    /// axe-core on the page as it is now: fails on any serious or critical violation, and prints the
    /// minor and moderate ones.
    pub async fn check_accessibility(&self, screen: &str) -> Result<()> {
        let Some(axe) = &self.axe else {
            bail!("no axe-core script (KEYTURN_E2E_AXE) to check {screen} with");
        };
        let loaded = self
            .client
            .execute("return typeof window.axe === 'object';", vec![])
            .await?;
        if loaded != serde_json::Value::Bool(true) {
            let script = std::fs::read_to_string(axe).with_context(|| format!("reading {}", axe.display()))?;
            self.client.execute(&script, vec![]).await.context("loading axe-core")?;
        }
        let violations = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, { resultTypes: ["violations"] })
                  .then((r) => done(r.violations.map((v) => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map((n) => n.target.join(" ")),
                  }))))
                  .catch((e) => done({ error: String(e) }));"#,
                vec![],
            )
            .await
            .context("running axe-core")?;
        let list = violations
            .as_array()
            .with_context(|| format!("axe-core failed on {screen}: {violations}"))?;
        let serious: Vec<&serde_json::Value> = list
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        println!(
            "e2e: {}: axe-core on {screen}: {} serious or critical, {} minor or moderate {:?}",
            self.prefix,
            serious.len(),
            list.len() - serious.len(),
            list.iter().map(|v| v["id"].as_str().unwrap_or("?")).collect::<Vec<_>>()
        );
        anyhow::ensure!(serious.is_empty(), "axe-core on {screen}: {serious:#?}");
        Ok(())
    }

    /// Milliseconds from a click on `button_id` to the first paint after `output_id` gets text, timed in
    /// the page (WebDriver's own polling would add its round trips). `act` does the click.
    pub async fn time_click_to_paint<F, Fut>(&self, button_id: &str, output_id: &str, act: F) -> Result<f64>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        self.client
            .execute(
                r#"const [button, output] = [document.getElementById(arguments[0]), document.getElementById(arguments[1])];
                window.__keyturnTiming = {};
                button.addEventListener("click", () => { window.__keyturnTiming.start = performance.now(); },
                  { capture: true, once: true });
                const seen = new MutationObserver(() => {
                  if (!output.textContent) return;
                  seen.disconnect();
                  // The frame with the text is painted before the task after its animation frame.
                  requestAnimationFrame(() => setTimeout(() => { window.__keyturnTiming.painted = performance.now(); }));
                });
                seen.observe(output, { childList: true, characterData: true, subtree: true });"#,
                vec![button_id.into(), output_id.into()],
            )
            .await?;
        act().await?;
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ms = self
                .client
                .execute(
                    "const t = window.__keyturnTiming; return t.painted === undefined ? null : t.painted - t.start;",
                    vec![],
                )
                .await?;
            if let Some(ms) = ms.as_f64() {
                return Ok(ms);
            }
            if Instant::now() > deadline {
                bail!("#{output_id} never got its text after the click on #{button_id}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn attribute(&self, xpath: &str, name: &str) -> Result<String> {
        Ok(self.visible(xpath).await?.attr(name).await?.unwrap_or_default())
    }
}

pub fn button_xpath(name: &str) -> String {
    format!("//button[normalize-space()='{name}' or @aria-label='{name}']")
}
