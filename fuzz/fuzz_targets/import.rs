//! Flow import files: the text `flowd flows import` and `POST /api/admin/flows/import` read,
//! parsed and imported into a catalog on the memory store, then exported. No input may
//! panic; an imported flow's export, imported into another tenant, exports the same flow.
#![no_main]

use flow_engine::TenantId;
use flow_engine::memory::MemoryPorts;
use flow_model::Flow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(flow) = Flow::from_json(text) else {
        return;
    };
    let memory = MemoryPorts::with_manual_clock(1_700_000_000_000);
    let catalog = memory.catalog();
    let first = TenantId::new("first");
    let Ok(stored) = catalog.import(&first, flow) else {
        return;
    };
    let exported = catalog
        .export(&first, &stored.flow.id)
        .expect("an imported flow exports");
    let file = serde_json::to_string_pretty(&exported).expect("an export serialises");
    let reread = Flow::from_json(&file).expect("an export reads back");
    let second = TenantId::new("second");
    let again = catalog
        .import(&second, reread)
        .expect("an export imports into an empty tenant");
    let exported_again = catalog
        .export(&second, &again.flow.id)
        .expect("exports again");
    assert_eq!(
        exported, exported_again,
        "import → export → import changed the flow"
    );
});
