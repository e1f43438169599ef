//! A real Kamailio for interop tests, run in the foreground on a config from tests/kamailio
//! with its ports filled in; killed on drop.

use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;

use crate::workspace;

pub struct Kamailio {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Kamailio {
    /// Starts `tests/kamailio/<config>` with `@NAME@` placeholders replaced from `values`.
    pub fn start(config: &str, values: &[(&str, String)]) -> Kamailio {
        let mut text =
            std::fs::read_to_string(workspace().join("tests/kamailio").join(config)).unwrap();
        for (name, value) in values {
            text = text.replace(&format!("@{name}@"), value);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kamailio.cfg");
        std::fs::write(&path, text).unwrap();
        let check = Command::new("kamailio")
            .arg("-c")
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "kamailio rejected its config: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new("kamailio")
            .args(["-DD", "-E", "-m", "64", "-M", "8"])
            .arg("-f")
            .arg(&path)
            .arg("-Y")
            .arg(dir.path())
            .arg("-P")
            .arg(dir.path().join("kamailio.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kamailio forks its workers after parsing; give them a moment to bind.
        sleep(Duration::from_millis(700));
        Kamailio { child, _dir: dir }
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        // The main process takes its children down with it on SIGTERM.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..40 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
