//! From bytes to dispatch: parse, validate, and hand requests and responses to their handlers.

use std::sync::Arc;

use bytes::Bytes;
use legate_sip::{
    parse_head, parse_message, validate_request, validate_response, FramingError, Message,
    ParseError, Via,
};

use super::Engine;
use crate::core::{local_answer, Core};
use crate::transport::{Flow, Inbound};

/// The transports' entry into the engine.
pub struct InboundHandler(pub Arc<Engine>);

impl Inbound for InboundHandler {
    fn on_message(&self, flow: Flow, bytes: Bytes) {
        let engine = self.0.clone();
        let message = match parse_message(bytes.clone(), &engine.core.limits) {
            Ok(message) => message,
            Err(error) => {
                engine.reject_unparsable(&flow, &bytes, &error);
                return;
            }
        };
        if message.is_request() {
            engine.on_request(message, flow);
        } else {
            match validate_response(&message) {
                // Delivered here, in arrival order: a 180 must never overtake the 200 behind it.
                Ok(validated) => engine.on_response(message, validated.top_via, flow),
                Err(error) => {
                    // Invalid responses are dropped silently (RFC 4475 §3.1.2.19 and friends).
                    engine
                        .core
                        .metrics
                        .message_rejected(listener_label(&flow), "invalid_response");
                    tracing::debug!(%error, ?flow, "dropped invalid response");
                }
            }
        }
    }

    fn on_framing_error(&self, flow: Flow, error: FramingError) {
        let engine = self.0.clone();
        engine
            .core
            .metrics
            .message_rejected(listener_label(&flow), "framing");
        tracing::info!(%error, ?flow, "closing connection after a framing error");
        let Some(head) = error.head() else { return };
        let Ok(request) = parse_head(head, &engine.core.limits) else {
            return;
        };
        if request.is_request() && request.method() != Some(&legate_sip::Method::Ack) {
            let response = local_answer(
                &request,
                error.status_code(),
                error.reason_phrase(),
                Some(&error.to_string()),
            );
            tokio::spawn(async move { engine.core.answer_statelessly(&flow, response).await });
        }
    }
}

/// The answer to an invalid request, with the reason in a Warning, sent back where it came from
/// (even a garbled Via is copied into the answer). ACKs are never answered, and neither is a
/// request without any Via.
async fn answer_invalid(core: &Core, request: &Message, flow: &Flow, error: &ParseError) {
    core.metrics
        .message_rejected(listener_label(flow), "invalid_request");
    if request.method() == Some(&legate_sip::Method::Ack)
        || request.headers.count(legate_sip::HeaderKind::Via) == 0
    {
        return;
    }
    let reason = error.to_string();
    let response = local_answer(
        request,
        error.status_code(),
        error.reason_phrase(),
        Some(&reason),
    );
    core.answer_statelessly(flow, response).await;
}

fn listener_label(flow: &Flow) -> &'static str {
    match flow.transport {
        crate::transport::Transport::Udp => "udp",
        crate::transport::Transport::Tcp => "tcp",
        crate::transport::Transport::Tls => "tls",
    }
}

impl Engine {
    /// A message that did not parse: requests are answered from whatever of their head can be
    /// read (the status the error calls for, and why); anything else is dropped and counted.
    fn reject_unparsable(&self, flow: &Flow, bytes: &Bytes, error: &ParseError) {
        tracing::debug!(%error, ?flow, len = bytes.len(), "unparsable message");
        match parse_head(bytes.clone(), &self.core.limits) {
            Ok(request) if request.is_request() => {
                let (core, flow, error) = (self.core.clone(), flow.clone(), error.clone());
                tokio::spawn(async move { answer_invalid(&core, &request, &flow, &error).await });
            }
            _ => self
                .core
                .metrics
                .message_rejected(listener_label(flow), "unparsable"),
        }
    }

    /// Answers a request that failed validation with the status the error calls for.
    pub(super) async fn reject_invalid(&self, request: &Message, flow: &Flow, error: &ParseError) {
        answer_invalid(&self.core, request, flow, error).await;
    }

    fn on_request(self: Arc<Self>, request: Message, flow: Flow) {
        match validate_request(&request) {
            Ok(validated) => self.accept_request(request, validated, flow),
            Err(error) => {
                tokio::spawn(async move { self.reject_invalid(&request, &flow, &error).await });
            }
        }
    }

    fn on_response(self: Arc<Self>, response: Message, top_via: Via, flow: Flow) {
        if let Some(unmatched) = self.core.deliver_response(response, top_via) {
            tokio::spawn(async move {
                self.core
                    .forward_response_statelessly(unmatched, &flow)
                    .await
            });
        }
    }
}
