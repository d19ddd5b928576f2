//! A headless Chromium driven through the DevTools protocol over `--remote-debugging-pipe`
//! (fds 3 and 4, NUL-separated JSON): enough to open pages, fill and submit forms and read
//! the DOM, as a person would. Scripts run through DevTools, which the pages' CSP does not
//! limit; the pages themselves run none.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// One headless Chromium with one page.
pub struct Browser {
    child: Child,
    to: std::fs::File,
    from: BufReader<std::fs::File>,
    next: u64,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start Chromium (its own profile: its own cookies) with a blank page.
    pub fn launch(chromium: &Path) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let (ours_r, theirs_w) = pipe();
        let (theirs_r, ours_w) = pipe();
        use std::os::fd::AsRawFd;
        let (r, w) = (theirs_r.as_raw_fd(), theirs_w.as_raw_fd());
        let mut cmd = Command::new(chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe dup2 calls between fork and exec; the pipe ends stay
        // open in the parent until the spawn returns.
        unsafe {
            cmd.pre_exec(move || {
                // Out of the way first: either end may already be fd 3 or 4.
                let (r2, w2) = (
                    libc::fcntl(r, libc::F_DUPFD, 10),
                    libc::fcntl(w, libc::F_DUPFD, 10),
                );
                if r2 < 0 || w2 < 0 || libc::dup2(r2, 3) < 0 || libc::dup2(w2, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start chromium");
        drop((theirs_r, theirs_w));
        let mut b = Browser {
            child,
            to: ours_w,
            from: BufReader::new(ours_r),
            next: 0,
            session: String::new(),
            _profile: profile,
        };
        let targets = b.call_browser("Target.getTargets", json!({}));
        let page = targets["targetInfos"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .map(|t| t["targetId"].as_str().unwrap_or_default().to_owned());
        let target = match page {
            Some(t) => t,
            None => b.call_browser("Target.createTarget", json!({"url": "about:blank"}))
                ["targetId"]
                .as_str()
                .expect("target id")
                .to_owned(),
        };
        let attached = b.call_browser(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().expect("session").to_owned();
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        b
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        match self.try_send(session, method, params) {
            Ok(v) => v,
            Err(e) => panic!("{method}: {e}"),
        }
    }

    /// [`Browser::send`], giving Chromium's error instead of failing on it.
    fn try_send(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).expect("json");
        bytes.push(0);
        self.to.write_all(&bytes).expect("write to chromium");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(
                Instant::now() < deadline,
                "chromium did not answer {method}"
            );
            let mut buf = Vec::new();
            let n = self
                .from
                .read_until(0, &mut buf)
                .expect("read from chromium");
            assert!(n > 0, "chromium closed the pipe during {method}");
            buf.pop();
            let v: Value = serde_json::from_slice(&buf).expect("chromium json");
            if v["id"] == json!(id) {
                return match v.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(None, method, params)
    }

    fn call(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.send(Some(&s), method, params)
    }

    /// Evaluate `js` in the page (promises awaited) and return its value.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{js}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Have the page see `prefers-color-scheme: dark` (or light).
    pub fn color_scheme(&mut self, scheme: &str) {
        self.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
    }

    /// Lay the page out at `width` × `height` CSS pixels (a phone is 390 wide).
    pub fn viewport(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        );
    }

    /// The page's URL.
    pub fn url(&mut self) -> String {
        self.eval("location.href")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Open `url` and wait until it has loaded.
    pub fn goto(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
        self.wait_loaded(None);
    }

    /// Run `js` that navigates (submits a form, follows a link) and wait for the new page.
    pub fn navigate_by(&mut self, js: &str) {
        let before = self.eval("performance.timeOrigin");
        // The page may go away while the script runs: that is the point.
        if let Err(e) = self.try_eval(js) {
            assert!(is_navigation(&e), "{js}: {e}");
        }
        self.wait_loaded(Some(before));
    }

    /// [`Browser::eval`], giving Chromium's error (say, the page navigated meanwhile).
    fn try_eval(&mut self, js: &str) -> Result<Value, Value> {
        let s = self.session.clone();
        let r = self.try_send(
            Some(&s),
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            let message = e.to_string();
            let gone = json!({ "message": message });
            assert!(is_navigation(&gone), "{js}: {e}");
            return Err(gone);
        }
        Ok(r["result"]["value"].clone())
    }

    fn wait_loaded(&mut self, before: Option<Value>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // Asked while the old page goes and the new one comes, Chromium may answer that
            // the page navigated: ask again.
            match self.try_eval("[document.readyState, performance.timeOrigin]") {
                Ok(state) => {
                    let fresh = before.as_ref().is_none_or(|b| &state[1] != b);
                    if fresh && state[0] == "complete" {
                        return;
                    }
                    assert!(Instant::now() < deadline, "the page did not load: {state}");
                }
                Err(e) => {
                    assert!(is_navigation(&e), "the page did not load: {e}");
                    assert!(Instant::now() < deadline, "the page did not load: {e}");
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The page's HTML as the browser has it.
    pub fn html(&mut self) -> String {
        self.eval("document.documentElement.outerHTML")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Fill the form that posts to a URL ending in `action` (fields by name) and submit it
    /// with its button whose text is `button`; wait for the page it leads to.
    pub fn submit(&mut self, action: &str, fields: &[(&str, &str)], button: &str) {
        let fields = serde_json::to_string(fields).expect("json");
        let js = format!(
            r#"(() => {{
                const form = [...document.querySelectorAll('form')]
                    .find(f => f.getAttribute('action').endsWith({action}));
                if (!form) throw new Error('no form for ' + {action});
                for (const [name, value] of {fields}) {{
                    const el = form.querySelector('[name="' + name + '"]');
                    if (!el) throw new Error('no field ' + name);
                    el.value = value;
                }}
                const b = [...form.querySelectorAll('button')].find(b => b.textContent.trim() === {button});
                if (!b) throw new Error('no button ' + {button});
                b.click();
                return true;
            }})()"#,
            action = serde_json::to_string(action).expect("json"),
            button = serde_json::to_string(button).expect("json"),
        );
        self.navigate_by(&js);
    }
}

/// A pipe (read end, write end), closed on exec: Chromium gets its ends as fds 3 and 4.
fn pipe() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills both fds on success; each is owned once by the File made from it.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0, "pipe2");
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Chromium's answer to a call made while the page navigated away (or its context was not
/// there yet).
fn is_navigation(error: &Value) -> bool {
    let m = error["message"].as_str().unwrap_or_default();
    m.contains("navigated or closed")
        || m.contains("Cannot find context")
        || m.contains("Execution context was destroyed")
}
