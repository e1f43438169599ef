//! SIP by hand over UDP: the test plays a peer with a plain socket, writes each message as text
//! and reads exactly what Legate sends, so nothing is hidden by a SIP stack in between.

use std::net::UdpSocket;
use std::time::Duration;

/// A socket on 127.0.0.1 whose reads give up after five seconds.
pub fn udp_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
}

pub fn port_of(socket: &UdpSocket) -> u16 {
    socket.local_addr().unwrap().port()
}

/// The next message other than a `100 Trying`.
pub fn receive(socket: &UdpSocket) -> String {
    let mut buffer = vec![0u8; 65535];
    loop {
        let (len, _) = socket.recv_from(&mut buffer).expect("nothing arrived");
        let text = String::from_utf8_lossy(&buffer[..len]).into_owned();
        if !text.starts_with("SIP/2.0 100") {
            return text;
        }
    }
}

/// Whether anything at all is waiting on `socket` right now (no waiting).
pub fn has_pending(socket: &UdpSocket) -> bool {
    socket.set_nonblocking(true).unwrap();
    let mut buffer = [0u8; 1];
    let pending = socket.peek_from(&mut buffer).is_ok();
    socket.set_nonblocking(false).unwrap();
    pending
}

/// Sends `message` (written with `\n` line ends) to 127.0.0.1:`port` with CRLF line ends.
pub fn send(socket: &UdpSocket, port: u16, message: &str) {
    socket
        .send_to(
            message.replace('\n', "\r\n").as_bytes(),
            ("127.0.0.1", port),
        )
        .unwrap();
}

/// The values of header `name`, in order.
pub fn header<'a>(message: &'a str, name: &str) -> Vec<&'a str> {
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

pub fn request_uri(message: &str) -> &str {
    message.split(' ').nth(1).unwrap()
}

/// The URI inside a `<…>` name-addr.
pub fn uri_in(name_addr: &str) -> &str {
    name_addr
        .trim_start_matches(|c| c != '<')
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
}

/// A response to `request`: its Vias, From, To (with `to_tag`), Call-ID and CSeq, then `extra`.
pub fn reply(request: &str, status: &str, to_tag: &str, extra: &str) -> String {
    let mut out = format!("SIP/2.0 {status}\n");
    for via in header(request, "Via") {
        out.push_str(&format!("Via: {via}\n"));
    }
    let to = header(request, "To")[0];
    let to = if to.contains("tag=") || to_tag.is_empty() {
        to.to_string()
    } else {
        format!("{to};tag={to_tag}")
    };
    out.push_str(&format!(
        "From: {}\nTo: {to}\nCall-ID: {}\nCSeq: {}\n{extra}Content-Length: 0\n\n",
        header(request, "From")[0],
        header(request, "Call-ID")[0],
        header(request, "CSeq")[0],
    ));
    out
}
