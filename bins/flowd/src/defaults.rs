//! The default flows, embedded in the binary from `fixtures/flows/` so that a fresh start needs
//! no files.

use flow_model::{Flow, ModelError};

const DEFAULT_FLOWS: [(&str, &str); 5] = [
    (
        "default-login",
        include_str!("../../../fixtures/flows/default-login.json"),
    ),
    (
        "default-registration",
        include_str!("../../../fixtures/flows/default-registration.json"),
    ),
    (
        "default-password-recovery",
        include_str!("../../../fixtures/flows/default-password-recovery.json"),
    ),
    (
        "default-invited-registration",
        include_str!("../../../fixtures/flows/default-invited-registration.json"),
    ),
    (
        "default-mfa-setup",
        include_str!("../../../fixtures/flows/default-mfa-setup.json"),
    ),
];

/// The default flows, parsed.
pub fn default_flows() -> Result<Vec<Flow>, ModelError> {
    DEFAULT_FLOWS
        .iter()
        .map(|(_, text)| Flow::from_json(text))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_default_flow_parses_and_carries_its_file_name() {
        let flows = super::default_flows().unwrap();
        for ((name, _), flow) in super::DEFAULT_FLOWS.iter().zip(&flows) {
            assert_eq!(flow.name.as_str(), *name);
            assert!(flow_model::validate(flow).valid);
        }
    }
}
