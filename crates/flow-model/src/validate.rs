//! The graph validator: coded findings in time linear in nodes + edges, never a panic.

use std::borrow::Cow;
use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::expression::{ExpressionError, compile_expression};
use crate::report::{Finding, FindingCode as Code, Report};
use crate::{Flow, FlowType, NodeKind, NodeType};

/// The value of a switch edge's `condition` that marks its default branch (an edge without a
/// condition is a default branch too).
pub const DEFAULT_BRANCH: &str = "default";

/// The `condition` of a `webauthn` node's second edge: where the flow goes when the person
/// takes the other way in (no passkey here, a failed or cancelled ceremony).
pub const FALLBACK_BRANCH: &str = "fallback";

/// Node types added by an embedder, so that the validator knows them.
#[derive(Debug, Clone, Default)]
pub struct NodeRegistry {
    custom: BTreeMap<String, CustomNodeSpec>,
}

/// What the validator needs to know about an embedder's node type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomNodeSpec {
    /// Whether the node waits for the user (so a loop through it is fine).
    pub waits_for_input: bool,
}

impl NodeRegistry {
    /// Registers a custom node type under `name`; built-in names cannot be replaced.
    pub fn register(&mut self, name: &str, spec: CustomNodeSpec) -> &mut Self {
        if matches!(NodeType::from_name(name), NodeType::Other(_)) {
            self.custom.insert(name.to_owned(), spec);
        }
        self
    }

    /// The spec of a custom node type, if registered.
    pub fn custom(&self, name: &str) -> Option<CustomNodeSpec> {
        self.custom.get(name).copied()
    }
}

/// A flow whose graph passed validation, with everything the compiler needs already resolved.
///
/// Only [`check`] makes one, so holding one proves the graph is valid.
#[derive(Debug)]
pub struct ValidatedGraph<'f> {
    flow: &'f Flow,
    nodes: Vec<ValidNode<'f>>,
    start: usize,
}

/// A node of a valid graph: its id, typed kind, outgoing edges and whether start reaches it.
#[derive(Debug)]
pub struct ValidNode<'f> {
    /// The node's id.
    pub id: &'f str,
    /// The node's type and typed config.
    pub kind: NodeKind,
    /// Outgoing edges, in the order they were written (held inline: most nodes have one or two).
    pub successors: Successors<'f>,
    /// How many edges enter the node.
    pub incoming: usize,
    /// Whether the node can be reached from the start.
    pub reachable: bool,
}

/// The outgoing edges of a node; up to two are stored without a heap allocation.
pub type Successors<'f> = smallvec::SmallVec<[Successor<'f>; 2]>;

/// One outgoing edge of a valid node.
#[derive(Debug, Clone, Copy)]
pub struct Successor<'f> {
    /// Index of the target in [`ValidatedGraph::nodes`].
    pub target: usize,
    /// The edge's condition, if any.
    pub condition: Option<&'f str>,
}

impl<'f> ValidatedGraph<'f> {
    /// The flow this graph belongs to.
    pub fn flow(&self) -> &'f Flow {
        self.flow
    }

    /// The nodes, in graph order.
    pub fn nodes(&self) -> &[ValidNode<'f>] {
        &self.nodes
    }

    /// Index of the start node in [`Self::nodes`].
    pub fn start(&self) -> usize {
        self.start
    }

    /// The nodes by value, for a consumer (the compiler) that moves their configs into what it
    /// builds instead of copying them.
    pub fn into_nodes(self) -> Vec<ValidNode<'f>> {
        self.nodes
    }
}

/// Validates a flow against the built-in node types.
pub fn validate(flow: &Flow) -> Report {
    check(flow, &NodeRegistry::default()).0
}

/// Validates a flow, knowing the embedder's node types; returns the report and, when the flow
/// is valid, the resolved graph for the compiler.
pub fn check<'f>(flow: &'f Flow, registry: &NodeRegistry) -> (Report, Option<ValidatedGraph<'f>>) {
    let mut checker = Checker::new(flow, registry);
    checker.run();
    checker.finish()
}

/// A node as the checker tracks it; `kind` is `None` when its type or config is bad.
struct Slot<'f> {
    id: &'f str,
    node_type: &'f NodeType,
    kind: Option<NodeKind>,
    successors: Successors<'f>,
    incoming: usize,
    reachable: bool,
}

struct Checker<'f, 'r> {
    flow: &'f Flow,
    registry: &'r NodeRegistry,
    report: Report,
    slots: Vec<Slot<'f>>,
    index: HashMap<&'f str, usize>,
    starts: Vec<usize>,
}

impl<'f, 'r> Checker<'f, 'r> {
    fn new(flow: &'f Flow, registry: &'r NodeRegistry) -> Self {
        Self {
            flow,
            registry,
            report: Report {
                valid: true,
                ..Report::default()
            },
            slots: Vec::with_capacity(flow.graph.nodes.len()),
            index: HashMap::with_capacity(flow.graph.nodes.len()),
            starts: Vec::new(),
        }
    }

    fn run(&mut self) {
        let node_findings = self.read_nodes();
        self.check_starts();
        let edge_findings = self.read_edges();
        self.mark_reachable();
        self.check_success_reachable();
        for finding in node_findings.into_iter().chain(edge_findings) {
            self.report.push(finding);
        }
        self.check_branches();
        self.check_merged_password();
        self.check_loops();
        self.check_unused();
    }

    fn finish(self) -> (Report, Option<ValidatedGraph<'f>>) {
        let start = match (self.report.valid, self.starts.first()) {
            (true, Some(&start)) => start,
            _ => return (self.report, None),
        };
        let nodes: Option<Vec<ValidNode<'f>>> = self
            .slots
            .into_iter()
            .map(|slot| {
                slot.kind.map(|kind| ValidNode {
                    id: slot.id,
                    kind,
                    successors: slot.successors,
                    incoming: slot.incoming,
                    reachable: slot.reachable,
                })
            })
            .collect();
        let graph = nodes.map(|nodes| ValidatedGraph {
            flow: self.flow,
            nodes,
            start,
        });
        (self.report, graph)
    }

    /// Indexes the nodes and reads their kinds; returns the per-node findings.
    fn read_nodes(&mut self) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut expressions = ExpressionCache::default();
        for node in &self.flow.graph.nodes {
            let id = node.id.as_str();
            if self.index.contains_key(id) {
                findings.push(
                    Finding::new(
                        Code::DuplicateNodeId,
                        format!("Node id '{id}' is used more than once"),
                    )
                    .on_node(id),
                );
                continue;
            }
            let kind = match NodeKind::parse(&node.node_type, node.config.as_ref()) {
                Some(Ok(kind)) => match expressions.check(&kind) {
                    Ok(()) => Ok(kind),
                    Err((field, error @ ExpressionError::TooCostly { .. })) => {
                        findings.push(
                            Finding::new(
                                Code::ExpressionTooCostly,
                                format!("Node '{id}': {field} {error}"),
                            )
                            .on_node(id),
                        );
                        Err(String::new())
                    }
                    Err((field, error)) => Err(format!("{field}: {error}")),
                },
                Some(Err(error)) => Err(error.to_string()),
                None => match self.registry.custom(node.node_type.as_str()) {
                    Some(_) => Ok(NodeKind::Custom {
                        node_type: node.node_type.as_str().to_owned(),
                        config: node.config.clone().unwrap_or_default(),
                    }),
                    None => {
                        findings.push(
                            Finding::new(
                                Code::UnknownNodeType,
                                format!("Node '{id}' has unknown type '{}'", node.node_type),
                            )
                            .on_node(id),
                        );
                        Err(String::new())
                    }
                },
            };
            let kind = match kind {
                Ok(kind) => Some(kind),
                Err(message) if message.is_empty() => None,
                Err(message) => {
                    findings.push(
                        Finding::new(
                            Code::InvalidNodeConfig,
                            format!("Node '{id}' has an invalid config: {message}"),
                        )
                        .on_node(id),
                    );
                    None
                }
            };
            if !allowed_in(&node.node_type, self.flow.flow_type) {
                findings.push(
                    Finding::new(
                        Code::NodeNotAllowed,
                        format!(
                            "Node '{id}' of type '{}' is not allowed in a {} flow",
                            node.node_type, self.flow.flow_type
                        ),
                    )
                    .on_node(id),
                );
            }
            if node.node_type == NodeType::Start {
                self.starts.push(self.slots.len());
            }
            self.index.insert(id, self.slots.len());
            self.slots.push(Slot {
                id,
                node_type: &node.node_type,
                kind,
                successors: Successors::new(),
                incoming: 0,
                reachable: false,
            });
        }
        findings
    }

    fn check_starts(&mut self) {
        match self.starts.as_slice() {
            [] => self.report.push(Finding::new(
                Code::MissingStartNode,
                "Flow is missing a start node".to_owned(),
            )),
            [_] => {}
            [first, rest @ ..] => {
                let first = self.slots.get(*first).map_or("", |slot| slot.id);
                for extra in rest {
                    let id = self.slots.get(*extra).map_or("", |slot| slot.id);
                    self.report.push(
                        Finding::new(
                            Code::MultipleStartNodes,
                            format!(
                                "Node '{id}' is a second start node; '{first}' is already the start"
                            ),
                        )
                        .on_node(id),
                    );
                }
            }
        }
    }

    /// Resolves edge endpoints; returns findings for edges whose endpoints do not exist.
    fn read_edges(&mut self) -> Vec<Finding> {
        let mut findings = Vec::new();
        for edge in &self.flow.graph.edges {
            let source = self.index.get(edge.source.as_str()).copied();
            let target = self.index.get(edge.target.as_str()).copied();
            let missing = match (source, target) {
                (Some(source), Some(target)) => {
                    if let Some(slot) = self.slots.get_mut(source) {
                        slot.successors.push(Successor {
                            target,
                            condition: edge.condition.as_deref(),
                        });
                    }
                    if let Some(slot) = self.slots.get_mut(target) {
                        slot.incoming += 1;
                    }
                    continue;
                }
                (None, Some(_)) => "source node does not exist",
                (Some(_), None) => "target node does not exist",
                (None, None) => "source and target nodes do not exist",
            };
            findings.push(
                Finding::new(
                    Code::InvalidEdge,
                    format!("Edge '{}' {missing}", edge.label()),
                )
                .on_edge(&edge.source, &edge.target),
            );
        }
        findings
    }

    fn mark_reachable(&mut self) {
        let Some(&start) = self.starts.first() else {
            return;
        };
        let mut stack = vec![start];
        while let Some(current) = stack.pop() {
            let Some(slot) = self.slots.get_mut(current) else {
                continue;
            };
            if slot.reachable {
                continue;
            }
            slot.reachable = true;
            stack.extend(slot.successors.iter().map(|s| s.target));
        }
    }

    fn check_success_reachable(&mut self) {
        let reached = self
            .slots
            .iter()
            .any(|slot| slot.reachable && *slot.node_type == NodeType::Success);
        if !reached {
            self.report.push(Finding::new(
                Code::UnreachableSuccess,
                "No path to success node".to_owned(),
            ));
        }
    }

    /// Checks that each node's outgoing edges fit what the node can produce.
    fn check_branches(&mut self) {
        for slot in &self.slots {
            let findings = match slot.node_type {
                NodeType::Success | NodeType::Failure => self.terminal_edges(slot),
                NodeType::Condition | NodeType::Webhook => self.condition_edges(slot),
                NodeType::Switch => self.switch_edges(slot),
                NodeType::Other(_) if slot.kind.is_none() => Vec::new(),
                _ => self.single_edge(slot),
            };
            for finding in findings {
                self.report.push(finding);
            }
        }
    }

    fn terminal_edges(&self, slot: &Slot<'f>) -> Vec<Finding> {
        slot.successors
            .iter()
            .map(|successor| {
                let target = self.id_of(successor.target);
                Finding::new(
                    Code::TerminalHasOutgoingEdge,
                    format!(
                        "Terminal node '{}' has an outgoing edge to '{target}'",
                        slot.id
                    ),
                )
                .on_edge(slot.id, target)
            })
            .collect()
    }

    /// The edges of a two-way node (a `condition`, a `webhook`): one `true`, one `false`.
    fn condition_edges(&self, slot: &Slot<'f>) -> Vec<Finding> {
        let (noun, name) = match slot.node_type {
            NodeType::Webhook => ("a webhook", "Webhook"),
            _ => ("a condition", "Condition"),
        };
        let mut findings = Vec::new();
        let mut seen = [false, false];
        for successor in &slot.successors {
            let target = self.id_of(successor.target);
            let branch = match successor.condition {
                Some("true") => 0,
                Some("false") => 1,
                other => {
                    findings.push(
                        Finding::new(
                            Code::InvalidEdgeCondition,
                            format!(
                                "Edge '{}->{target}' leaves {noun} with {}; use 'true' or 'false'",
                                slot.id,
                                other.map_or_else(
                                    || "no condition".to_owned(),
                                    |c| format!("condition '{c}'")
                                )
                            ),
                        )
                        .on_edge(slot.id, target),
                    );
                    continue;
                }
            };
            if std::mem::replace(&mut seen[branch], true) {
                findings.push(
                    Finding::new(
                        Code::AmbiguousEdge,
                        format!(
                            "{name} '{}' has more than one '{}' edge",
                            slot.id,
                            branch_name(branch)
                        ),
                    )
                    .on_edge(slot.id, target),
                );
            }
        }
        for (branch, present) in seen.into_iter().enumerate() {
            if !present {
                findings.push(
                    Finding::new(
                        Code::MissingBranch,
                        format!(
                            "{name} '{}' is missing its '{}' branch",
                            slot.id,
                            branch_name(branch)
                        ),
                    )
                    .on_node(slot.id),
                );
            }
        }
        findings
    }

    fn switch_edges(&self, slot: &Slot<'f>) -> Vec<Finding> {
        if slot.successors.is_empty() {
            return vec![dead_end(slot.id)];
        }
        let mut findings = Vec::new();
        let mut cases: HashMap<&str, ()> = HashMap::with_capacity(slot.successors.len());
        let mut has_default = false;
        for successor in &slot.successors {
            let target = self.id_of(successor.target);
            let is_default = matches!(successor.condition, None | Some(DEFAULT_BRANCH));
            let repeated = if is_default {
                std::mem::replace(&mut has_default, true)
            } else {
                cases
                    .insert(successor.condition.unwrap_or_default(), ())
                    .is_some()
            };
            if repeated {
                findings.push(
                    Finding::new(
                        Code::AmbiguousEdge,
                        format!(
                            "Switch '{}' has more than one '{}' edge",
                            slot.id,
                            successor.condition.unwrap_or(DEFAULT_BRANCH)
                        ),
                    )
                    .on_edge(slot.id, target),
                );
            }
        }
        if !has_default {
            findings.push(
                Finding::new(
                    Code::MissingDefault,
                    format!("Switch '{}' has no default edge", slot.id),
                )
                .on_node(slot.id),
            );
        }
        findings
    }

    fn single_edge(&self, slot: &Slot<'f>) -> Vec<Finding> {
        if slot.successors.is_empty() {
            return vec![dead_end(slot.id)];
        }
        let mut findings = Vec::new();
        let mut unconditional = 0;
        let mut fallbacks = 0;
        let may_fall_back = *slot.node_type == NodeType::Webauthn;
        for successor in &slot.successors {
            let target = self.id_of(successor.target);
            match successor.condition {
                Some(FALLBACK_BRANCH) if may_fall_back => {
                    fallbacks += 1;
                    if fallbacks == 2 {
                        findings.push(
                            Finding::new(
                                Code::AmbiguousEdge,
                                format!("Node '{}' has more than one 'fallback' edge", slot.id),
                            )
                            .on_edge(slot.id, target),
                        );
                    }
                }
                None => {
                    unconditional += 1;
                    if unconditional == 2 {
                        findings.push(
                            Finding::new(
                                Code::AmbiguousEdge,
                                format!("Node '{}' has more than one unconditional outgoing edge", slot.id),
                            )
                            .on_edge(slot.id, target),
                        );
                    }
                }
                Some(condition) => findings.push(
                    Finding::new(
                        Code::InvalidEdgeCondition,
                        format!(
                            "Edge '{}->{target}' has condition '{condition}', but only condition, switch and webhook nodes branch (and a webauthn node has a 'fallback' edge)",
                            slot.id
                        ),
                    )
                    .on_edge(slot.id, target),
                ),
            }
        }
        if unconditional == 0 && fallbacks > 0 {
            findings.push(dead_end(slot.id));
        }
        findings
    }

    /// An identifier prompt that also asks for the password needs that password node right after
    /// it, entered from nowhere else, so the two can be shown as one prompt.
    fn check_merged_password(&mut self) {
        let mut findings = Vec::new();
        for slot in &self.slots {
            let Some(NodeKind::IdentifierInput(config)) = &slot.kind else {
                continue;
            };
            if !config.with_password {
                continue;
            }
            let merged = match slot.successors.as_slice() {
                [only] => self.slots.get(only.target).is_some_and(|next| {
                    *next.node_type == NodeType::PasswordInput && next.incoming == 1
                }),
                _ => false,
            };
            if !merged {
                findings.push(
                    Finding::new(
                        Code::InvalidNodeConfig,
                        format!(
                            "Node '{}' has an invalid config: with_password: the next node must be a password_input that no other edge enters",
                            slot.id
                        ),
                    )
                    .on_node(slot.id),
                );
            }
        }
        for finding in findings {
            self.report.push(finding);
        }
    }

    /// Finds cycles in which no node waits for input: the cycles of the graph left when every
    /// waiting node is taken out (a component that merely contains a waiting node can still hold
    /// a cycle that avoids it).
    ///
    /// Kahn's algorithm peels off every server-side node that no cycle leads into; only what is
    /// left (nothing, for a valid flow) goes through Kosaraju's algorithm to name the loops. Both
    /// are iterative, so a long chain cannot exhaust the stack.
    fn check_loops(&mut self) {
        let count = self.slots.len();
        let server_side: Vec<bool> = (0..count)
            .map(|index| !self.waits_for_input(index))
            .collect();
        let is_server_side = |index: usize| server_side.get(index).copied().unwrap_or(false);
        let server_successors = |index: usize| {
            self.slots
                .get(index)
                .into_iter()
                .flat_map(|slot| slot.successors.iter().map(|s| s.target))
                .filter(move |&target| is_server_side(index) && is_server_side(target))
        };
        let mut in_degree = vec![0usize; count];
        for index in 0..count {
            for target in server_successors(index) {
                if let Some(degree) = in_degree.get_mut(target) {
                    *degree += 1;
                }
            }
        }
        let mut ready: Vec<usize> = (0..count)
            .filter(|&index| in_degree.get(index) == Some(&0))
            .collect();
        let mut peeled = vec![false; count];
        while let Some(index) = ready.pop() {
            if let Some(flag) = peeled.get_mut(index) {
                *flag = true;
            }
            for target in server_successors(index) {
                if let Some(degree) = in_degree.get_mut(target) {
                    *degree -= 1;
                    if *degree == 0 {
                        ready.push(target);
                    }
                }
            }
        }
        if peeled.iter().all(|&done| done) {
            return;
        }
        let mut graph: DiGraph<(), ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..count).map(|_| graph.add_node(())).collect();
        for index in (0..count).filter(|&index| !peeled.get(index).copied().unwrap_or(true)) {
            for target in server_successors(index) {
                if let (Some(&from), Some(&to)) = (nodes.get(index), nodes.get(target)) {
                    graph.add_edge(from, to, ());
                }
            }
        }
        let mut components: Vec<Vec<usize>> = kosaraju_scc(&graph)
            .into_iter()
            .map(|component| {
                let mut indexes: Vec<usize> = component.iter().map(|node| node.index()).collect();
                indexes.sort_unstable();
                indexes
            })
            .filter(|component| match component.as_slice() {
                [single] => server_successors(*single).any(|target| target == *single),
                [] => false,
                _ => true,
            })
            .collect();
        components.sort_unstable();
        for component in components {
            let names: Vec<String> = component
                .iter()
                .take(5)
                .map(|&index| format!("'{}'", self.id_of(index)))
                .collect();
            let more = if component.len() > 5 { ", ..." } else { "" };
            let first = component.first().map_or("", |&index| self.id_of(index));
            let finding = Finding::new(
                Code::LoopWithoutInput,
                format!(
                    "Loop through {}{more} never waits for input",
                    names.join(", ")
                ),
            )
            .on_node(first);
            self.report.push(finding);
        }
    }

    fn check_unused(&mut self) {
        if self.starts.is_empty() {
            return;
        }
        let findings: Vec<Finding> = self
            .slots
            .iter()
            .filter(|slot| !slot.reachable)
            .map(|slot| {
                Finding::new(
                    Code::UnusedNode,
                    format!("Node '{}' is unreachable", slot.id),
                )
                .on_node(slot.id)
            })
            .collect();
        for finding in findings {
            self.report.push(finding);
        }
    }

    /// Whether the node at `index` waits for the user; nodes of unknown type count as waiting so
    /// that one mistake is not reported twice.
    fn waits_for_input(&self, index: usize) -> bool {
        let Some(slot) = self.slots.get(index) else {
            return true;
        };
        match &slot.kind {
            Some(NodeKind::Custom { node_type, .. }) => self
                .registry
                .custom(node_type)
                .is_some_and(|spec| spec.waits_for_input),
            Some(kind) => kind.node_type().category() == Some(crate::NodeCategory::Input),
            None => true,
        }
    }

    fn id_of(&self, index: usize) -> &'f str {
        self.slots.get(index).map_or("", |slot| slot.id)
    }
}

fn dead_end(id: &str) -> Finding {
    Finding::new(
        Code::DeadEnd,
        format!("Node '{id}' has no outgoing edge and is not a success or failure node"),
    )
    .on_node(id)
}

fn branch_name(branch: usize) -> &'static str {
    if branch == 0 { "true" } else { "false" }
}

/// Whether a node type makes sense in a flow type.
///
/// Social sign-in only starts a session or an account; a second-factor check needs a factor that
/// a brand-new account does not have yet; TOTP enrolment needs an account and is no way to
/// recover one.
pub fn allowed_in(node_type: &NodeType, flow_type: FlowType) -> bool {
    use FlowType as F;
    match node_type {
        NodeType::SocialProviderSelect => matches!(
            flow_type,
            F::Login | F::Registration | F::InvitedRegistration
        ),
        NodeType::MfaVerification => !flow_type.creates_user(),
        NodeType::TotpSetup => !flow_type.resets_password(),
        _ => true,
    }
}

/// Checks the expressions of conditions, switches and webhooks once per distinct text.
#[derive(Default)]
struct ExpressionCache {
    seen: HashMap<String, Result<(), ExpressionError>>,
}

impl ExpressionCache {
    /// The expressions of a node, checked: the first refused, with the config path it is at
    /// and why.
    fn check(&mut self, kind: &NodeKind) -> Result<(), (Cow<'static, str>, ExpressionError)> {
        for (path, expression) in kind.expressions() {
            let result = match self.seen.get(expression) {
                Some(result) => result.clone(),
                None => {
                    let result = compile_expression(expression).map(|_| ());
                    self.seen.insert(expression.to_owned(), result.clone());
                    result
                }
            };
            result.map_err(|error| (path, error))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
