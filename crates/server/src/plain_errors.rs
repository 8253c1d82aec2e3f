//! hyper answers a request it cannot parse (400), whose headers are too
//! large (431) or whose target is too long (414) by itself, before any
//! handler runs, with an empty body. Every other error of this server has
//! the JSON error shape, and a client should not need a second parser for
//! these three. hyper has no hook for them, so each connection's writes
//! pass through [`JsonErrorIo`], which recognises exactly such a response
//! (one of those status lines and `content-length: 0`: no answer of the
//! router has an empty error body) and writes it again with the JSON body.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection that gives hyper's own error answers the JSON error body.
pub struct JsonErrorIo<T> {
    inner: T,
    /// A rewritten answer being written: its bytes, how many are written,
    /// and the length of hyper's original (reported as written at the end).
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

impl<T> JsonErrorIo<T> {
    /// Wraps a connection.
    pub fn new(inner: T) -> JsonErrorIo<T> {
        JsonErrorIo {
            inner,
            rewrite: None,
        }
    }
}

/// The JSON answer for hyper's own response `head`, if it is one.
pub(crate) fn rewritten(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let (status_line, rest) = text.split_once("\r\n")?;
    let (status, class, message) = match status_line {
        "HTTP/1.1 400 Bad Request" => (
            400,
            "malformed",
            "the request is not valid HTTP/1.1 (its request line or a header could not be parsed)",
        ),
        "HTTP/1.1 431 Request Header Fields Too Large" => (
            431,
            "too_large",
            "the request's headers are larger than this server takes; send fewer or shorter headers",
        ),
        "HTTP/1.1 414 URI Too Long" => (
            414,
            "too_large",
            "the request's target is longer than this server takes",
        ),
        _ => return None,
    };
    if !rest.ends_with("\r\n\r\n") {
        return None;
    }
    let mut headers: Vec<&str> = rest.trim_end().split("\r\n").collect();
    let empty = headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("content-length: 0"))?;
    let body = serde_json::json!({"error": {"status": status, "class": class, "message": message}})
        .to_string();
    let length = format!("content-length: {}", body.len());
    headers[empty] = &length;
    let mut answer = format!("{status_line}\r\ncontent-type: application/json\r\n");
    for header in headers {
        answer.push_str(header);
        answer.push_str("\r\n");
    }
    answer.push_str("\r\n");
    answer.push_str(&body);
    Some(answer.into_bytes())
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrorIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrorIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.rewrite.is_none() {
            match rewritten(buf) {
                Some(answer) => this.rewrite = Some((answer, 0, buf.len())),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        // hyper calls again with the same bytes until they are all written.
        let (answer, written, original) = this.rewrite.as_mut().expect("set above");
        while *written < answer.len() {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &answer[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        let original = *original;
        this.rewrite = None;
        Poll::Ready(Ok(original))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // Not vectored: hyper then writes each response as one buffer, in
    // which its own error answers can be recognised whole.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::rewritten;

    #[test]
    fn rewrites_only_hypers_empty_error_answers() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sat, 28 Nov 2026 03:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(rewritten(head).unwrap()).unwrap();
        let (headers, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(headers.contains("content-type: application/json"));
        assert!(headers.contains(&format!("content-length: {}", body.len())));
        assert!(headers.contains("date: Sat, 28 Nov 2026"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["class"], "too_large");
        assert_eq!(body["error"]["status"], 431);
        // An answer of the router (a body) and a success are left alone.
        assert!(rewritten(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 52\r\n\r\n{}").is_none());
        assert!(rewritten(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }
}
