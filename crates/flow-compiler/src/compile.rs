//! Graph to program: lay the reachable nodes out along their main paths, resolve each node's
//! meaning for the flow type, and emit steps with explicit jump targets.

use flow_model::{
    Flow, FlowType, NodeKind, NodeRegistry, Report, SuccessConfig, Successor, ValidNode,
    ValidatedGraph, check,
};
use sha2::{Digest, Sha256};

use crate::program::{
    Completion, INVITATION_NODE_ID, MergedPassword, Op, PROGRAM_FORMAT, PasswordPolicy, Program,
    Step, SwitchCase, WebhookCall,
};

/// The failure code of a `failure` node without one.
pub const DEFAULT_FAILURE_CODE: &str = "flow_failed";

/// Validates and compiles a flow with the built-in node types.
pub fn compile(flow: &Flow) -> Result<Program, Report> {
    compile_with(flow, &NodeRegistry::default())
}

/// Validates and compiles a flow that may use an embedder's node types.
pub fn compile_with(flow: &Flow, registry: &NodeRegistry) -> Result<Program, Report> {
    match check(flow, registry) {
        (_, Some(graph)) => Ok(compile_validated(graph)),
        (report, None) => Err(report),
    }
}

/// Compiles a graph the validator accepted. Deterministic: the same graph gives the same
/// program, byte for byte.
pub fn compile_validated(graph: ValidatedGraph<'_>) -> Program {
    let layout = Layout::of(&graph);
    let flow = graph.flow();
    let steps = Emitter::new(graph.into_nodes(), flow.flow_type, &layout).emit();
    Program {
        format: PROGRAM_FORMAT,
        flow_id: flow.id.clone(),
        flow_name: flow.name.as_str().to_owned(),
        flow_type: flow.flow_type,
        version: flow.version,
        content_hash: content_hash(flow.flow_type, &steps),
        steps,
    }
}

fn content_hash(flow_type: FlowType, steps: &[Step]) -> String {
    let mut hasher = HashWriter(Sha256::new());
    hasher.0.update(flow_type.as_str().as_bytes());
    hasher.0.update([0]);
    // Serializing plain data into the hasher cannot fail: the writer never errors. The buffer
    // turns the serializer's many tiny writes into few large hash updates.
    let mut buffered = std::io::BufWriter::with_capacity(64 * 1024, &mut hasher);
    let _ = serde_json::to_writer(&mut buffered, steps);
    let _ = std::io::Write::flush(&mut buffered);
    drop(buffered);
    hex::encode(hasher.0.finalize())
}

/// Feeds serialized bytes straight into the hash, so no copy of the program is built.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The order nodes are emitted in, and which nodes were merged into the prompt before them.
struct Layout {
    order: Vec<usize>,
    /// For a merged identifier node, the password node it absorbed.
    absorbed_by: Vec<Option<usize>>,
}

impl Layout {
    /// Places chains: from each unplaced node, follow main successors while they are unplaced,
    /// then resume at the branches left behind. A linear graph becomes a linear order.
    fn of(graph: &ValidatedGraph<'_>) -> Self {
        let nodes = graph.nodes();
        let mut placed = vec![false; nodes.len()];
        let mut absorbed_by = vec![None; nodes.len()];
        let mut order = Vec::with_capacity(nodes.len());
        let mut pending = vec![graph.start()];
        while let Some(head) = pending.pop() {
            let mut current = head;
            while !placed.get(current).copied().unwrap_or(true) {
                let Some(node) = nodes.get(current) else {
                    break;
                };
                placed[current] = true;
                order.push(current);
                let continue_from = match merged_password(graph, node) {
                    Some(password) => {
                        if let Some(slot) = placed.get_mut(password) {
                            *slot = true;
                        }
                        absorbed_by[current] = Some(password);
                        nodes.get(password)
                    }
                    None => Some(node),
                };
                let Some(main) = continue_from.and_then(|node| follow_main(node, &mut pending))
                else {
                    break;
                };
                current = main;
            }
        }
        Self { order, absorbed_by }
    }
}

/// Returns the main successor of `node` (its `true` edge, a switch's first case, or its only
/// edge) and pushes the others on `pending` so that they are laid out in edge order afterwards.
/// Allocates nothing: this runs once per node.
fn follow_main(node: &ValidNode<'_>, pending: &mut Vec<usize>) -> Option<usize> {
    let is_side_branch = |condition: Option<&str>| match &node.kind {
        NodeKind::Condition(_) | NodeKind::Webhook(_) => condition == Some("false"),
        NodeKind::Switch(_) => matches!(condition, None | Some(flow_model::DEFAULT_BRANCH)),
        NodeKind::Webauthn(_) => condition == Some(flow_model::FALLBACK_BRANCH),
        _ => false,
    };
    let successors = &node.successors;
    let main = successors
        .iter()
        .position(|s| !is_side_branch(s.condition))
        .or_else(|| (!successors.is_empty()).then_some(0))?;
    // `pending` is a stack: push side branches last-first, then the other main-rank edges.
    for side in [true, false] {
        for (position, successor) in successors.iter().enumerate().rev() {
            if position != main && is_side_branch(successor.condition) == side {
                pending.push(successor.target);
            }
        }
    }
    successors.get(main).map(|successor| successor.target)
}

/// The password node an identifier prompt absorbs (`with_password`), if any.
fn merged_password(graph: &ValidatedGraph<'_>, node: &ValidNode<'_>) -> Option<usize> {
    match &node.kind {
        NodeKind::IdentifierInput(config) if config.with_password => {
            let next = node.successors.first()?.target;
            matches!(graph.nodes().get(next)?.kind, NodeKind::PasswordInput(_)).then_some(next)
        }
        _ => None,
    }
}

/// Emits steps in layout order; targets are first recorded as node indexes, then resolved.
struct Emitter<'g, 'f> {
    nodes: Vec<ValidNode<'f>>,
    flow_type: FlowType,
    layout: &'g Layout,
    steps: Vec<Step>,
    first_step: Vec<usize>,
}

impl<'g, 'f> Emitter<'g, 'f> {
    fn new(nodes: Vec<ValidNode<'f>>, flow_type: FlowType, layout: &'g Layout) -> Self {
        Self {
            first_step: vec![0; nodes.len()],
            nodes,
            flow_type,
            layout,
            steps: Vec::with_capacity(layout.order.len() + layout.order.len() / 4),
        }
    }

    fn emit(mut self) -> Vec<Step> {
        // An invited registration starts by redeeming the invitation (WSO2's
        // `ConfirmationCodeValidationExecutor`), whatever the graph says: no account is created
        // from an invitation without its code. Targets are resolved from step indexes below, so
        // the extra first step shifts every jump along with it.
        if self.flow_type == FlowType::InvitedRegistration {
            self.steps.push(Step {
                node_id: INVITATION_NODE_ID.to_owned(),
                op: Op::RedeemInvitation,
            });
        }
        for (position, &index) in self.layout.order.iter().enumerate() {
            let Some(node) = self.nodes.get_mut(index) else {
                continue;
            };
            // Each node is emitted once, so its config moves into the step instead of being copied.
            let id = node.id;
            let kind = std::mem::replace(&mut node.kind, NodeKind::Start);
            let successors = std::mem::take(&mut node.successors);
            self.first_step[index] = self.steps.len();
            let absorbed = self.layout.absorbed_by.get(index).copied().flatten();
            let op = self.op_for(kind, &successors, absorbed);
            // The start node emits nothing and falls through to its successor.
            let falls_through = op.as_ref().is_none_or(Op::falls_through);
            if let Some(op) = op {
                self.steps.push(Step {
                    node_id: id.to_owned(),
                    op,
                });
            }
            if falls_through {
                let continues_at = match absorbed {
                    Some(password) => self.nodes.get(password).and_then(|n| n.successors.first()),
                    // The unconditional edge (a `webauthn` node's other is its fallback).
                    None => successors
                        .iter()
                        .find(|successor| successor.condition.is_none())
                        .or(successors.first()),
                }
                .map(|successor| successor.target);
                if let Some(next) = continues_at
                    && self.layout.order.get(position + 1) != Some(&next)
                {
                    self.steps.push(Step {
                        node_id: id.to_owned(),
                        op: Op::Jump { target: next },
                    });
                }
            }
        }
        self.resolve_targets();
        self.steps
    }

    /// The operation a node means in this flow type; `None` for the start node, which only
    /// marks where the program begins.
    fn op_for(
        &self,
        kind: NodeKind,
        successors: &[Successor<'f>],
        absorbed: Option<usize>,
    ) -> Option<Op> {
        let flow_type = self.flow_type;
        let password_policy = |index: usize| match self.nodes.get(index).map(|n| &n.kind) {
            Some(NodeKind::PasswordInput(config)) => Some(PasswordPolicy {
                min_length: config.min_length,
                min_score: config.min_score,
                confirm: config.confirm,
            }),
            _ => None,
        };
        let absorbed_id = absorbed
            .and_then(|index| self.nodes.get(index))
            .map(|n| n.id.to_owned());
        Some(match kind {
            NodeKind::Start => return None,
            NodeKind::IdentifierInput(config) if flow_type.creates_user() => {
                Op::CollectIdentifier {
                    identifier_types: config.identifier_types,
                    new_password: absorbed.zip(absorbed_id).and_then(|(index, node_id)| {
                        password_policy(index).map(|policy| MergedPassword { node_id, policy })
                    }),
                }
            }
            NodeKind::IdentifierInput(config) => Op::IdentifyUser {
                identifier_types: config.identifier_types,
                verify_password: absorbed_id,
                passkey: config.passkey && flow_type == FlowType::Login,
            },
            NodeKind::PasswordInput(config) if sets_password(flow_type) => {
                Op::SetPassword(PasswordPolicy {
                    min_length: config.min_length,
                    min_score: config.min_score,
                    confirm: config.confirm,
                })
            }
            NodeKind::PasswordInput(_) => Op::VerifyPassword,
            NodeKind::SocialProviderSelect(config) => Op::SelectSocialProvider {
                providers: config.providers,
            },
            NodeKind::MfaVerification(config) => Op::VerifyMfa {
                methods: config.methods,
            },
            NodeKind::OtpInput(config) => Op::VerifyOtp {
                label: config.label,
            },
            NodeKind::Webauthn(config) if registers_factor(flow_type) => Op::WebauthnRegister {
                user_verification: config.user_verification,
                fallback: fallback(successors),
            },
            NodeKind::Webauthn(config) => Op::WebauthnAuthenticate {
                user_verification: config.user_verification,
                fallback: fallback(successors),
            },
            NodeKind::Prompt(config) => Op::Prompt {
                fields: config.fields,
            },
            NodeKind::TotpSetup(config) => Op::EnrollTotp {
                issuer: config.issuer,
                digits: config.digits,
                period: config.period,
            },
            NodeKind::SendEmail(config) => Op::SendEmail {
                template: config.template,
                with_code: config.with_code,
            },
            NodeKind::SendSms(config) => Op::SendSms {
                template: config.template,
                with_code: config.with_code,
            },
            NodeKind::Webhook(config) => Op::CallWebhook(Box::new(WebhookCall {
                url: config.url,
                method: config.method,
                headers: config.headers,
                timeout_ms: config.timeout_ms,
                body: config.body,
                response: config.response,
                retries: config.retries,
                secret: config.secret,
                if_true: branch(successors, "true"),
                if_false: branch(successors, "false"),
            })),
            NodeKind::SetAttribute(config) => Op::SetAttribute {
                attribute: config.attribute,
                value: config.value,
            },
            NodeKind::Custom { node_type, config } => Op::Custom { node_type, config },
            NodeKind::Condition(config) => Op::Branch {
                condition: config.condition,
                if_true: branch(successors, "true"),
                if_false: branch(successors, "false"),
            },
            NodeKind::Switch(config) => {
                let is_default = |condition: Option<&str>| {
                    matches!(condition, None | Some(flow_model::DEFAULT_BRANCH))
                };
                Op::Switch {
                    expression: config.expression,
                    cases: successors
                        .iter()
                        .filter_map(|successor| {
                            let value = successor.condition.filter(|c| !is_default(Some(c)))?;
                            Some(SwitchCase {
                                value: value.to_owned(),
                                target: successor.target,
                            })
                        })
                        .collect(),
                    default: successors
                        .iter()
                        .find(|successor| is_default(successor.condition))
                        .map_or(0, |successor| successor.target),
                }
            }
            NodeKind::Success(config) => succeed(flow_type, config),
            NodeKind::Failure(config) => Op::Fail {
                code: config
                    .code
                    .clone()
                    .unwrap_or_else(|| DEFAULT_FAILURE_CODE.to_owned()),
                message: config.message,
            },
            // `NodeKind` is non-exhaustive for embedders; a kind this compiler does not know is
            // run as a custom node of the same type name.
            other => Op::Custom {
                node_type: other.node_type().as_str().to_owned(),
                config: serde_json::Value::Null,
            },
        })
    }

    /// Rewrites node-index targets into step indexes.
    fn resolve_targets(&mut self) {
        let first_step = &self.first_step;
        let at = |node: &mut usize| *node = first_step.get(*node).copied().unwrap_or(0);
        for step in &mut self.steps {
            match &mut step.op {
                Op::Jump { target } => at(target),
                Op::Branch {
                    if_true, if_false, ..
                } => {
                    at(if_true);
                    at(if_false);
                }
                Op::CallWebhook(call) => {
                    at(&mut call.if_true);
                    at(&mut call.if_false);
                }
                Op::Switch { cases, default, .. } => {
                    cases.iter_mut().for_each(|case| at(&mut case.target));
                    at(default);
                }
                Op::WebauthnRegister {
                    fallback: Some(target),
                    ..
                }
                | Op::WebauthnAuthenticate {
                    fallback: Some(target),
                    ..
                } => at(target),
                _ => {}
            }
        }
    }
}

/// Whether a `password_input` sets a new password (rather than verifying one) in this flow type.
fn sets_password(flow_type: FlowType) -> bool {
    flow_type.creates_user() || flow_type.resets_password()
}

/// The target of a two-way node's `true` or `false` edge (node index until targets are
/// resolved; the validator made sure there is one).
fn branch(successors: &[Successor<'_>], wanted: &str) -> usize {
    successors
        .iter()
        .find(|successor| successor.condition == Some(wanted))
        .map_or(0, |successor| successor.target)
}

/// The target of a node's `fallback` edge (node index until targets are resolved).
fn fallback(successors: &[Successor<'_>]) -> Option<usize> {
    successors
        .iter()
        .find(|successor| successor.condition == Some(flow_model::FALLBACK_BRANCH))
        .map(|successor| successor.target)
}

/// Whether a `webauthn` node registers a new passkey (rather than authenticating) in this flow type.
fn registers_factor(flow_type: FlowType) -> bool {
    flow_type.creates_user() || flow_type == FlowType::MfaSetup
}

/// What a success node does in this flow type.
fn succeed(flow_type: FlowType, config: SuccessConfig) -> Op {
    let (completion, signs_in_by_default) = match flow_type {
        FlowType::Login => (Completion::Authenticate, true),
        FlowType::Registration | FlowType::InvitedRegistration => (Completion::CreateUser, true),
        FlowType::PasswordReset | FlowType::AccountRecovery => (Completion::UpdatePassword, false),
        FlowType::MfaSetup => (Completion::StoreFactor, false),
        _ => (Completion::Authenticate, true),
    };
    Op::Succeed {
        completion,
        sign_in: flow_type == FlowType::Login || config.auto_login.unwrap_or(signs_in_by_default),
        redirect_url: config.redirect_url,
        message: config.message,
    }
}

#[cfg(test)]
#[path = "compile_tests.rs"]
mod tests;
