//! The per-request side: find the parties and the service, ask the directory when needed, then
//! pass the request on or answer it (403, 404, 503).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use legate_sip::{Header, HeaderKind};
use tower::Service;

use super::classify::classify;
use super::compile::{CompiledPolicy, PolicyInput};
use super::config::{Action, Direction};
use super::decision::{DecisionCounters, PolicyDecision};
use super::parties::parties;
use super::NAME;
use legate_filters_api::DirectoryUser;
use legate_filters_api::{
    BoxSipService, FilterError, ListenerInfo, Refusal, Side, SipRequest, SipResponse,
};

/// Seconds a peer should wait before retrying when the directory could not be asked.
const RETRY_AFTER_SECONDS: &str = "5";

#[derive(Clone)]
pub struct DomainPolicy {
    policy: Arc<CompiledPolicy>,
    /// The side of the listener the chain was built for.
    side: Side,
    counts: Arc<DecisionCounters>,
    inner: BoxSipService,
}

impl DomainPolicy {
    pub(crate) fn new(
        policy: Arc<CompiledPolicy>,
        side: Side,
        counts: Arc<DecisionCounters>,
        inner: BoxSipService,
    ) -> Self {
        DomainPolicy {
            policy,
            side,
            counts,
            inner,
        }
    }
}

impl Service<SipRequest> for DomainPolicy {
    type Response = SipResponse;
    type Error = FilterError;
    type Future = Pin<Box<dyn Future<Output = Result<SipResponse, FilterError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), FilterError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: SipRequest) -> Self::Future {
        // Requests inside a dialog were decided when the dialog started.
        if request.is_in_dialog() {
            return Box::pin(self.inner.call(request));
        }
        // The inner service was made ready by poll_ready; the future takes that one.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let policy = self.policy.clone();
        let side = self.side;
        let counts = self.counts.clone();
        Box::pin(async move {
            if let Some(answer) = check(&policy, side, &counts, &mut request).await {
                return Ok(answer);
            }
            // Filters in front of this one (audit) see the decision on the way back.
            let decision = request.context.get::<PolicyDecision>().cloned();
            let mut response = inner.call(request).await?;
            if let Some(decision) = decision {
                response.context.insert(decision);
            }
            Ok(response)
        })
    }
}

/// Checks the request; `Some` is the local answer, `None` lets it pass. The decision is
/// attached to the request context, and to a refusal's context.
async fn check(
    policy: &CompiledPolicy,
    build_side: Side,
    counts: &DecisionCounters,
    request: &mut SipRequest,
) -> Option<SipResponse> {
    let side = request
        .context
        .get::<ListenerInfo>()
        .map_or(build_side, |listener| listener.side);
    let direction = match side {
        Side::Internal => Direction::Outbound,
        Side::External => Direction::Inbound,
    };
    let parties = match parties(&request.view(), direction) {
        Ok(parties) => parties,
        Err(why) => {
            return Some(request.refuse(Refusal::new(NAME, 400, "Bad Request").warning(why)))
        }
    };
    let service = classify(&request.message);

    let exposed = match direction {
        Direction::Inbound => policy.exposed_groups(),
        Direction::Outbound => None,
    };
    let mut user: Option<Arc<DirectoryUser>> = None;
    if let (Some(directory), Some((name, domain))) = (policy.directory(), &parties.local) {
        if policy.has_group_rules() || exposed.is_some() {
            match directory.lookup(name, domain).await {
                Ok(found) => user = found,
                Err(error) => {
                    counts.directory_failure.inc();
                    tracing::warn!(%error, filter = NAME, "directory lookup failed");
                    let mut answer = SipResponse::local(
                        request,
                        NAME,
                        503,
                        "Service Unavailable",
                        "user lookup failed, try again later",
                    );
                    answer
                        .message
                        .headers
                        .push(Header::new(HeaderKind::RetryAfter, RETRY_AFTER_SECONDS));
                    return Some(answer);
                }
            }
        }
    }
    if let (Some(exposed), Some(_)) = (exposed, &parties.local) {
        // Unknown and hidden users get the very same answer, so the outside cannot tell them
        // apart and enumerate the directory.
        if !user.as_ref().is_some_and(|u| u.in_any_group(exposed)) {
            counts.hidden.inc();
            tracing::debug!(filter = NAME, known = user.is_some(), "not an exposed user");
            return Some(request.refuse(Refusal::new(NAME, 404, "Not Found")));
        }
    }

    let local_user = parties.local_address();
    let no_groups = Vec::new();
    let input = PolicyInput {
        direction,
        service,
        remote_domain: &parties.remote_domain,
        local_user: local_user.as_deref(),
        local_groups: user.as_ref().map_or(&no_groups, |u| &u.groups),
    };
    let verdict = policy.evaluate(&input);
    let rule_id = verdict.rule.and_then(|i| policy.rule_id(i));
    counts.count(verdict.action);
    let decision = PolicyDecision {
        rule_id: rule_id.map(str::to_string),
        action: verdict.action,
        service,
        direction,
        remote_domain: parties.remote_domain,
        local_user,
    };
    if let Some(trace) = request.trace() {
        trace.note("legate.service", service.as_str());
        trace.note("legate.policy.decision", verdict.action.as_str());
        trace.note("legate.policy.rule_id", rule_id.unwrap_or("default"));
    }
    match verdict.action {
        Action::Allow => {
            tracing::debug!(
                filter = NAME,
                rule = rule_id.unwrap_or("default"),
                %service,
                %direction,
                remote_domain = %decision.remote_domain,
                "allowed by policy"
            );
            request.context.insert(decision);
            None
        }
        Action::Deny => {
            tracing::info!(
                filter = NAME,
                rule = rule_id.unwrap_or("default"),
                %service,
                %direction,
                remote_domain = %decision.remote_domain,
                local_user = decision.local_user.as_deref().unwrap_or(""),
                "denied by policy"
            );
            request.context.insert(decision.clone());
            let groups = user.as_ref().map_or(String::new(), |u| u.groups.join(","));
            let mut refusal = Refusal::new(NAME, 403, "Forbidden")
                .warning("not permitted by policy")
                .input("remote_domain", decision.remote_domain.as_str())
                .input("local_groups", groups)
                .input("service", service.as_str())
                .input("direction", direction.as_str());
            refusal.rule_id = decision.rule_id.clone();
            let mut answer = request.refuse(refusal);
            answer.context.insert(decision);
            Some(answer)
        }
    }
}
