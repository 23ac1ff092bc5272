//! The [`CodeStore`] contract: put, verify (valid, invalid, attempts, expired, missing),
//! replacement and the expiry sweep.

use flow_engine::{CodeCheck, CodeStore, StoredCode, TenantId};

fn code(hash: &str, expires_at: i64, attempts_left: u32) -> StoredCode {
    StoredCode {
        hash: hash.to_owned(),
        expires_at,
        attempts_left,
    }
}

/// A matching code is consumed; a miss is `Missing` afterwards.
pub(crate) fn valid_code_is_consumed<C: CodeStore + ?Sized>(codes: &C, tenant: &TenantId) {
    codes.put(tenant, "k", code("h1", 100, 3)).unwrap();
    let seen = std::cell::RefCell::new(None);
    let check = codes
        .verify(tenant, "k", 50, &|stored| {
            *seen.borrow_mut() = Some(stored.clone());
            stored.hash == "h1"
        })
        .unwrap();
    assert_eq!(check, CodeCheck::Valid);
    assert_eq!(seen.into_inner(), Some(code("h1", 100, 3)));
    assert_eq!(
        codes.verify(tenant, "k", 50, &|_| true).unwrap(),
        CodeCheck::Missing
    );
}

/// Misses spend attempts; the last miss deletes the code.
pub(crate) fn invalid_attempts_run_out<C: CodeStore + ?Sized>(codes: &C, tenant: &TenantId) {
    codes.put(tenant, "k", code("h", 100, 2)).unwrap();
    assert_eq!(
        codes.verify(tenant, "k", 50, &|_| false).unwrap(),
        CodeCheck::Invalid { attempts_left: 1 }
    );
    assert_eq!(
        codes.verify(tenant, "k", 50, &|_| false).unwrap(),
        CodeCheck::Invalid { attempts_left: 0 }
    );
    assert_eq!(
        codes.verify(tenant, "k", 50, &|_| true).unwrap(),
        CodeCheck::Missing
    );
    // A miss then a hit: the hit still counts.
    codes.put(tenant, "k", code("h", 100, 2)).unwrap();
    assert_eq!(
        codes.verify(tenant, "k", 50, &|_| false).unwrap(),
        CodeCheck::Invalid { attempts_left: 1 }
    );
    assert_eq!(
        codes
            .verify(tenant, "k", 50, &|stored| stored.attempts_left == 1)
            .unwrap(),
        CodeCheck::Valid
    );
}

/// An expired code is `Expired` (and gone); an unknown key or another tenant is `Missing`;
/// `put` replaces; the sweep removes expired codes.
pub(crate) fn expired_missing_and_replaced<C: CodeStore + ?Sized>(
    codes: &C,
    tenant: &TenantId,
    other: &TenantId,
) {
    codes.put(tenant, "e", code("h", 100, 3)).unwrap();
    assert_eq!(
        codes.verify(tenant, "e", 100, &|_| true).unwrap(),
        CodeCheck::Expired
    );
    assert_eq!(
        codes.verify(tenant, "e", 10, &|_| true).unwrap(),
        CodeCheck::Missing
    );
    assert_eq!(
        codes.verify(tenant, "never", 10, &|_| true).unwrap(),
        CodeCheck::Missing
    );

    codes.put(tenant, "r", code("old", 100, 3)).unwrap();
    codes.put(tenant, "r", code("new", 100, 5)).unwrap();
    assert_eq!(
        codes.verify(other, "r", 10, &|_| true).unwrap(),
        CodeCheck::Missing
    );
    assert_eq!(
        codes
            .verify(tenant, "r", 10, &|stored| stored.hash == "new"
                && stored.attempts_left == 5)
            .unwrap(),
        CodeCheck::Valid
    );

    codes.put(tenant, "a", code("h", 100, 3)).unwrap();
    codes.put(tenant, "b", code("h", 300, 3)).unwrap();
    assert_eq!(codes.delete_expired(200).unwrap(), 1);
    assert_eq!(
        codes.verify(tenant, "a", 10, &|_| true).unwrap(),
        CodeCheck::Missing
    );
    assert_eq!(
        codes.verify(tenant, "b", 10, &|_| true).unwrap(),
        CodeCheck::Valid
    );
}
