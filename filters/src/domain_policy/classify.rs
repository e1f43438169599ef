//! Which service a request asks for, from its method, Event header and SDP offer.
//!
//! Pure and cheap: policy calls it once per dialog-starting request.

use std::fmt;

use legate_sip::{HeaderKind, Message, Method};
use serde::Deserialize;

/// The services policy rules can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    Im,
    Presence,
    Voice,
    Video,
    FileTransfer,
    Chat,
    /// Anything else (REFER, INFO, OPTIONS, an unknown event package): only rules without a
    /// `services` condition match it, so it is never allowed by accident of a service list.
    #[serde(skip_deserializing)]
    Other,
}

impl Service {
    pub const ALL: [Service; 7] = [
        Service::Im,
        Service::Presence,
        Service::Voice,
        Service::Video,
        Service::FileTransfer,
        Service::Chat,
        Service::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Service::Im => "im",
            Service::Presence => "presence",
            Service::Voice => "voice",
            Service::Video => "video",
            Service::FileTransfer => "file-transfer",
            Service::Chat => "chat",
            Service::Other => "other",
        }
    }

    /// A dense index (for per-service tables).
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classifies a request:
///
/// - MESSAGE → im;
/// - SUBSCRIBE, NOTIFY, PUBLISH with Event `presence` or `presence.winfo` → presence;
/// - INVITE or UPDATE with an SDP body: video when any `m=video`, else voice when `m=audio`,
///   else file-transfer for `m=message` with `a=file-selector` (RFC 5547), else chat for plain
///   `m=message` (MSRP);
/// - INVITE without SDP (a late offer) → voice;
/// - anything else → other.
pub fn classify(message: &Message) -> Service {
    match message.method() {
        Some(Method::Message) => Service::Im,
        Some(Method::Subscribe | Method::Notify | Method::Publish) => {
            if is_presence_event(message) {
                Service::Presence
            } else {
                Service::Other
            }
        }
        Some(method @ (Method::Invite | Method::Update)) => match sdp(message) {
            Some(body) => classify_sdp(body),
            None if *method == Method::Invite => Service::Voice,
            None => Service::Other,
        },
        _ => Service::Other,
    }
}

fn is_presence_event(message: &Message) -> bool {
    let Some(event) = message.headers.first(HeaderKind::Event) else {
        return false;
    };
    // `Event: presence;id=1`: the package is the token before any parameter.
    let package = event.split(|&b| b == b';').next().unwrap_or_default();
    let package = package.trim_ascii();
    package.eq_ignore_ascii_case(b"presence") || package.eq_ignore_ascii_case(b"presence.winfo")
}

/// The body when it is (or, in a multipart body, contains) an SDP session description.
fn sdp(message: &Message) -> Option<&[u8]> {
    if message.body.is_empty() {
        return None;
    }
    let content_type = message.headers.first(HeaderKind::ContentType)?;
    let content_type = content_type.to_ascii_lowercase();
    let is_sdp = content_type.starts_with(b"application/sdp");
    // A multipart offer (SDP next to, say, a resource list) is scanned whole: only `m=` and
    // `a=` lines at the start of a line count, which other parts do not produce by chance.
    let is_multipart = content_type.starts_with(b"multipart/");
    (is_sdp || is_multipart).then_some(&message.body[..])
}

fn classify_sdp(body: &[u8]) -> Service {
    #[derive(PartialEq)]
    enum Media {
        None,
        Audio,
        Video,
        Message,
        Other,
    }
    let (mut audio, mut video, mut message, mut file_selector) = (false, false, false, false);
    let mut current = Media::None;
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(media) = line.strip_prefix(b"m=") {
            let kind = media.split(|&b| b == b' ').next().unwrap_or_default();
            current = match kind {
                b"audio" => Media::Audio,
                b"video" => Media::Video,
                b"message" => Media::Message,
                _ => Media::Other,
            };
            audio |= current == Media::Audio;
            video |= current == Media::Video;
            message |= current == Media::Message;
        } else if current == Media::Message && line.starts_with(b"a=file-selector") {
            file_selector = true;
        }
    }
    if video {
        Service::Video
    } else if audio {
        Service::Voice
    } else if message && file_selector {
        Service::FileTransfer
    } else if message {
        Service::Chat
    } else {
        Service::Other
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use legate_sip::{parse_message, Limits};

    use super::*;

    fn request(method: &str, extra: &str, body: &str) -> Message {
        let text = format!(
            "{method} sip:bob@remote.example SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:alice@corp.example>;tag=a1\r\n\
             To: <sip:bob@remote.example>\r\n\
             Call-ID: c1@corp.example\r\n\
             CSeq: 1 {method}\r\n\
             {extra}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        match parse_message(Bytes::from(text), &Limits::default()) {
            Ok(message) => message,
            Err(error) => panic!("test request does not parse: {error}"),
        }
    }

    const SDP: &str = "Content-Type: application/sdp\r\n";

    fn sdp_body(media: &[&str]) -> String {
        let mut body = String::from(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n",
        );
        for m in media {
            body.push_str(m);
            body.push_str("\r\n");
        }
        body
    }

    #[test]
    fn message_is_im() {
        assert_eq!(classify(&request("MESSAGE", "", "hi")), Service::Im);
    }

    #[test]
    fn presence_events_are_presence_and_other_events_are_not() {
        for method in ["SUBSCRIBE", "NOTIFY", "PUBLISH"] {
            for event in ["presence", "Presence;id=7", "presence.winfo"] {
                let extra = format!("Event: {event}\r\n");
                assert_eq!(classify(&request(method, &extra, "")), Service::Presence);
            }
            let other = classify(&request(method, "Event: dialog\r\n", ""));
            assert_eq!(other, Service::Other, "{method}");
            assert_eq!(classify(&request(method, "", "")), Service::Other);
        }
    }

    #[test]
    fn sdp_media_decide_the_call_kind() {
        let cases: [(&[&str], Service); 7] = [
            (&["m=audio 49170 RTP/AVP 0"], Service::Voice),
            (&["m=video 51372 RTP/AVP 31"], Service::Video),
            (
                &["m=audio 49170 RTP/AVP 0", "m=video 51372 RTP/AVP 31"],
                Service::Video,
            ),
            (
                &["m=message 7654 TCP/MSRP *", "a=accept-types:text/plain"],
                Service::Chat,
            ),
            (
                &[
                    "m=message 7654 TCP/MSRP *",
                    "a=file-selector:name:\"a.pdf\" type:application/pdf",
                ],
                Service::FileTransfer,
            ),
            // A file-selector outside a message stream does not make a transfer.
            (
                &["a=file-selector:x", "m=message 7654 TCP/MSRP *"],
                Service::Chat,
            ),
            (&["m=application 9 UDP/BFCP *"], Service::Other),
        ];
        for (media, expected) in cases {
            let body = sdp_body(media);
            assert_eq!(
                classify(&request("INVITE", SDP, &body)),
                expected,
                "{media:?}"
            );
            assert_eq!(
                classify(&request("UPDATE", SDP, &body)),
                expected,
                "{media:?}"
            );
        }
    }

    #[test]
    fn an_invite_without_an_offer_is_voice() {
        assert_eq!(classify(&request("INVITE", "", "")), Service::Voice);
        assert_eq!(classify(&request("UPDATE", "", "")), Service::Other);
        // A body that is not SDP is no offer.
        let body = sdp_body(&["m=video 1 RTP/AVP 31"]);
        let text = classify(&request("INVITE", "Content-Type: text/plain\r\n", &body));
        assert_eq!(text, Service::Voice);
    }

    #[test]
    fn other_methods_are_other() {
        for method in ["REFER", "INFO", "OPTIONS", "BYE"] {
            assert_eq!(
                classify(&request(method, "", "")),
                Service::Other,
                "{method}"
            );
        }
    }
}
