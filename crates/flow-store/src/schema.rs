//! Diesel table definitions, written by hand to match `migrations/` (portable types only:
//! `Text`, `Integer`, `BigInt`, `Bool`, which both SQLite and PostgreSQL map the same way).

diesel::table! {
    /// Flow definitions (the seed-002 JSON in `body`), unique by id and by name per tenant.
    flows (tenant_id, id) {
        /// Owning tenant.
        tenant_id -> Text,
        /// Flow id.
        id -> Text,
        /// Flow name (slug), unique per tenant.
        name -> Text,
        /// Flow type (`login`).
        flow_type -> Text,
        /// Status (`draft`, `active`, `inactive`).
        status -> Text,
        /// Latest version.
        version -> BigInt,
        /// Whether this is the default flow of its type.
        is_default -> Bool,
        /// Format of `body`.
        body_format -> Integer,
        /// The flow as JSON.
        body -> Text,
        /// Last activation.
        activated_at -> Nullable<BigInt>,
        /// Last deactivation.
        deactivated_at -> Nullable<BigInt>,
        /// Creation time.
        created_at -> BigInt,
        /// Last update.
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// Compiled versions of flows.
    flow_versions (tenant_id, flow_id, version) {
        /// Owning tenant.
        tenant_id -> Text,
        /// The flow.
        flow_id -> Text,
        /// Version number.
        version -> BigInt,
        /// Snapshot of the flow's graph when the version was saved (JSON).
        graph -> Nullable<Text>,
        /// The program's `format`.
        program_format -> Integer,
        /// The compiled program (JSON).
        program -> Text,
        /// The program's content hash.
        content_hash -> Text,
        /// Compile time.
        compiled_at -> BigInt,
    }
}

diesel::table! {
    /// Flow executions: the engine's snapshot as JSON plus the revision for compare-and-swap.
    executions (id) {
        /// Execution id (UUID v4 text).
        id -> Text,
        /// Owning tenant.
        tenant_id -> Text,
        /// The flow of the pinned program.
        flow_id -> Text,
        /// Execution status.
        status -> Text,
        /// Revision, compared and swapped on every save.
        revision -> BigInt,
        /// Format of `body`.
        body_format -> Integer,
        /// The execution as JSON.
        body -> Text,
        /// Creation time.
        created_at -> BigInt,
        /// Last save.
        updated_at -> BigInt,
        /// Expiry.
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// The trace of executions: one row per step run, the last 200 kept per execution.
    execution_trace (execution_id, seq) {
        /// Owning tenant.
        tenant_id -> Text,
        /// The execution.
        execution_id -> Text,
        /// The entry's number within its execution, from 0.
        seq -> BigInt,
        /// Index of the step in the program.
        step -> BigInt,
        /// The graph node the step came from.
        node_id -> Text,
        /// The step's operation.
        op -> Text,
        /// The step's short result code.
        result -> Text,
        /// Extra detail for operators.
        detail -> Nullable<Text>,
        /// When the step ran (Unix milliseconds).
        at_ms -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(executions, execution_trace);

diesel::table! {
    /// Users, unique by id and by identifier per tenant.
    users (tenant_id, id) {
        /// Owning tenant.
        tenant_id -> Text,
        /// User id.
        id -> Text,
        /// Normalized identifier.
        identifier -> Text,
        /// Format of `attributes` and `mfa_methods`.
        data_format -> Integer,
        /// Profile attributes (JSON object).
        attributes -> Text,
        /// Enrolled second factors (JSON array).
        mfa_methods -> Text,
        /// Creation time.
        created_at -> BigInt,
        /// Last change.
        updated_at -> BigInt,
        /// Confusable skeleton (UTS #39) of `identifier`; NULL until the backfill at open.
        identifier_skeleton -> Nullable<Text>,
        /// When an administrator disabled the user; NULL while it may sign in.
        disabled_at -> Nullable<BigInt>,
        /// When the password was last changed or removed (Unix seconds).
        password_changed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Credentials of users: the password hash, passkeys, and links to identity-provider
    /// accounts.
    credentials (tenant_id, user_id, kind, credential_id) {
        /// Owning tenant.
        tenant_id -> Text,
        /// The user.
        user_id -> Text,
        /// Kind (`password`, `passkey`, `federated`).
        kind -> Text,
        /// Tells several credentials of one kind apart (`""` for the password, the credential
        /// id of a passkey, `{provider}:{subject}` of a link).
        credential_id -> Text,
        /// Format of `secret`.
        secret_format -> Integer,
        /// The secret (an argon2 PHC string for passwords).
        secret -> Text,
        /// Creation time.
        created_at -> BigInt,
        /// Last change.
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// One-time codes, hashed, with expiry and attempt budget.
    one_time_codes (tenant_id, code_key) {
        /// Owning tenant.
        tenant_id -> Text,
        /// The engine's key for the code.
        code_key -> Text,
        /// Salted hash of the code.
        code_hash -> Text,
        /// Expiry.
        expires_at -> BigInt,
        /// Wrong guesses left.
        attempts_left -> Integer,
    }
}

diesel::table! {
    /// Token signing keys (the `KeyStore` port; JWKS).
    signing_keys (tenant_id, kid) {
        /// Owning tenant.
        tenant_id -> Text,
        /// Key id.
        kid -> Text,
        /// JOSE algorithm.
        algorithm -> Text,
        /// Format of `private_key`.
        key_format -> Integer,
        /// The private key.
        private_key -> Text,
        /// The public key as a JWK.
        public_jwk -> Text,
        /// `active` or `retired`.
        status -> Text,
        /// Creation time.
        created_at -> BigInt,
        /// After this time the key no longer signs.
        not_after -> Nullable<BigInt>,
        /// The order keys were added in, per tenant (oldest first).
        seq -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(flows, flow_versions);
diesel::allow_tables_to_appear_in_same_query!(users, credentials);

diesel::table! {
    /// Server settings per tenant (the digest of a generated admin token).
    settings (tenant_id, name) {
        /// Owning tenant.
        tenant_id -> Text,
        /// Setting name.
        name -> Text,
        /// Setting value.
        value -> Text,
        /// Last change (Unix seconds).
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// Invitations: the hash of the mailed code, expiry, use and revocation.
    invitations (tenant_id, id) {
        /// Owning tenant.
        tenant_id -> Text,
        /// Invitation id (`inv_...`).
        id -> Text,
        /// The invited e-mail address (normalized).
        email -> Text,
        /// SHA-256 (hex) of the code, unique per tenant.
        code_hash -> Text,
        /// Creation time.
        created_at -> BigInt,
        /// Expiry.
        expires_at -> BigInt,
        /// When an account was created with it.
        used_at -> Nullable<BigInt>,
        /// When it was revoked.
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Failed sign-ins per user: the count in the current window and the lock.
    login_failures (tenant_id, user_id) {
        /// Owning tenant.
        tenant_id -> Text,
        /// The user.
        user_id -> Text,
        /// Failed sign-ins in the window.
        failures -> Integer,
        /// When the window ends (Unix seconds); a lock stretches it to the lock's end.
        window_ends_at -> BigInt,
        /// When the lock ends, if the user was locked.
        locked_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Authenticator apps (TOTP) of users: the secret as it is, and the last accepted step.
    totp_credentials (tenant_id, user_id) {
        /// Owning tenant.
        tenant_id -> Text,
        /// The user.
        user_id -> Text,
        /// Format of `secret`.
        secret_format -> Integer,
        /// The shared secret (base32).
        secret -> Text,
        /// Code length.
        digits -> Integer,
        /// Code period in seconds.
        period -> Integer,
        /// Time step of the last accepted code.
        last_step -> Nullable<BigInt>,
        /// Enrolment time.
        created_at -> BigInt,
        /// Last change.
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// The event log: what happened to whom; never a secret.
    events (tenant_id, id) {
        /// Owning tenant.
        tenant_id -> Text,
        /// Time-ordered id (`evt_…`).
        id -> Text,
        /// When (Unix milliseconds).
        at_ms -> BigInt,
        /// What happened (`sign_in`, `admin`, ...).
        kind -> Text,
        /// `success` or `failure`.
        outcome -> Text,
        /// Why, or what an administrator did.
        reason -> Nullable<Text>,
        /// The user concerned.
        user_id -> Nullable<Text>,
        /// The identifier concerned.
        identifier -> Nullable<Text>,
        /// The flow of the execution.
        flow_id -> Nullable<Text>,
        /// The execution.
        execution_id -> Nullable<Text>,
        /// The client's address.
        client_address -> Nullable<Text>,
        /// The client's `User-Agent`.
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    /// Identity providers (social login) per tenant.
    identity_providers (tenant_id, id) {
        /// Owning tenant.
        tenant_id -> Text,
        /// Provider id (slug; never contains `:`).
        id -> Text,
        /// Format of `settings`.
        settings_format -> Integer,
        /// The provider as JSON (with its client secret).
        settings -> Text,
        /// Creation time.
        created_at -> BigInt,
        /// Last change.
        updated_at -> BigInt,
    }
}
