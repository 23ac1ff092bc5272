//! Runs every contract of `contract/` against every backend: flow-engine's memory adapters,
//! SQLite (temporary file and in-memory) and PostgreSQL (skipped, with a message, unless
//! `FLOWD_TEST_DATABASE_URL` is set). Each test gets a fresh store and unique tenants.

use crate::contract::{
    codes, events, executions, federation, flows, invitations, keys, login_attempts, programs,
    users,
};
use crate::support::Backend;

macro_rules! contract_suite {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;

            fn backend() -> Option<Backend> {
                $make
            }

            #[test]
            fn executions_insert_and_load() {
                let Some(b) = backend() else { return };
                executions::insert_and_load(&*b.executions, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn executions_save_is_compare_and_swap() {
                let Some(b) = backend() else { return };
                executions::save_is_compare_and_swap(&*b.executions, &b.tenant);
            }

            #[test]
            fn executions_concurrent_saves_each_land_once() {
                let Some(b) = backend() else { return };
                executions::concurrent_saves_each_land_once(&*b.executions, &b.tenant);
            }

            #[test]
            fn executions_trace_is_appended_and_bounded() {
                let Some(b) = backend() else { return };
                executions::trace_is_appended_and_bounded(
                    &*b.executions,
                    &b.tenant,
                    &b.other_tenant,
                );
            }

            #[test]
            fn executions_reference_their_program() {
                let Some(b) = backend() else { return };
                programs::executions_reference_their_program(&b);
            }

            #[test]
            fn a_large_flow_keeps_a_small_record() {
                let Some(b) = backend() else { return };
                programs::a_large_flow_keeps_a_small_record(&b);
            }

            #[test]
            fn a_missing_program_version_ends_the_execution() {
                let Some(b) = backend() else { return };
                programs::a_missing_program_version_ends_the_execution(&b);
            }

            #[test]
            fn executions_delete_expired() {
                let Some(b) = backend() else { return };
                executions::delete_expired(&*b.executions, &b.tenant);
            }

            #[test]
            fn users_list_pages_by_identifier() {
                let Some(b) = backend() else { return };
                users::list_pages_by_identifier(&*b.users, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn events_list_filter_page_and_expire() {
                let Some(b) = backend() else { return };
                events::list_filter_page_and_expire(&*b.events, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn users_passkeys_are_kept_per_credential() {
                let Some(b) = backend() else { return };
                users::passkeys_are_kept_per_credential(&*b.users, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn users_create_many_fails_each_alone() {
                let Some(b) = backend() else { return };
                users::create_many_fails_each_alone(&*b.users, &b.tenant);
            }

            #[test]
            fn users_remove_credentials() {
                let Some(b) = backend() else { return };
                users::remove_credentials(&*b.users, &b.tenant);
            }

            #[test]
            fn users_disable_and_enable() {
                let Some(b) = backend() else { return };
                users::disable_and_enable(&*b.users, &b.tenant);
            }

            #[test]
            fn users_delete_removes_the_user() {
                let Some(b) = backend() else { return };
                users::delete_removes_the_user(&*b.users, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn users_create_and_find() {
                let Some(b) = backend() else { return };
                users::create_and_find(&*b.users, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn users_look_alikes_are_taken() {
                let Some(b) = backend() else { return };
                users::look_alikes_are_taken(&*b.users, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn users_password_hash() {
                let Some(b) = backend() else { return };
                users::password_hash(&*b.users, &b.tenant);
            }

            #[test]
            fn users_attributes_merge() {
                let Some(b) = backend() else { return };
                users::attributes_merge(&*b.users, &b.tenant);
            }

            #[test]
            fn users_mfa_methods_add() {
                let Some(b) = backend() else { return };
                users::mfa_methods_add(&*b.users, &b.tenant);
            }

            #[test]
            fn users_totp_credential_set_and_replace() {
                let Some(b) = backend() else { return };
                users::totp_credential_set_and_replace(&*b.users, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn users_totp_steps_move_forward() {
                let Some(b) = backend() else { return };
                users::totp_steps_move_forward(&*b.users, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn users_concurrent_totp_step_one_wins() {
                let Some(b) = backend() else { return };
                users::concurrent_totp_step_one_wins(&*b.users, &b.tenant);
            }

            #[test]
            fn codes_valid_code_is_consumed() {
                let Some(b) = backend() else { return };
                codes::valid_code_is_consumed(&*b.codes, &b.tenant);
            }

            #[test]
            fn codes_invalid_attempts_run_out() {
                let Some(b) = backend() else { return };
                codes::invalid_attempts_run_out(&*b.codes, &b.tenant);
            }

            #[test]
            fn codes_expired_missing_and_replaced() {
                let Some(b) = backend() else { return };
                codes::expired_missing_and_replaced(&*b.codes, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn flows_create_and_get() {
                let Some(b) = backend() else { return };
                flows::create_and_get(&*b.flows, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn flows_list_pages_and_filters() {
                let Some(b) = backend() else { return };
                flows::list_pages_and_filters(&*b.flows, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn flows_update_and_defaults() {
                let Some(b) = backend() else { return };
                flows::update_and_defaults(&*b.flows, &b.tenant);
            }

            #[test]
            fn flows_versions_and_delete() {
                let Some(b) = backend() else { return };
                flows::versions_and_delete(&*b.flows, &b.tenant);
            }

            #[test]
            fn flows_heads_name_the_current_version() {
                let Some(b) = backend() else { return };
                flows::heads_name_the_current_version(&*b.flows, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn invitations_insert_and_find() {
                let Some(b) = backend() else { return };
                invitations::insert_and_find(&*b.invitations, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn invitations_consume_once_while_pending() {
                let Some(b) = backend() else { return };
                invitations::consume_once_while_pending(&*b.invitations, &b.tenant);
            }

            #[test]
            fn invitations_revoke_and_list() {
                let Some(b) = backend() else { return };
                invitations::revoke_and_list(&*b.invitations, &b.tenant);
            }

            #[test]
            fn invitations_concurrent_consumers_one_wins() {
                let Some(b) = backend() else { return };
                invitations::concurrent_consumers_one_wins(&*b.invitations, &b.tenant);
            }

            #[test]
            fn login_attempts_count_per_window() {
                let Some(b) = backend() else { return };
                login_attempts::count_per_window(&*b.login_attempts, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn login_attempts_lock_and_reset() {
                let Some(b) = backend() else { return };
                login_attempts::lock_and_reset(&*b.login_attempts, &b.tenant, &b.other_tenant);
            }

            #[test]
            fn login_attempts_delete_expired() {
                let Some(b) = backend() else { return };
                login_attempts::delete_expired(&*b.login_attempts, &b.tenant);
            }

            #[test]
            fn login_attempts_concurrent_failures_count_exactly() {
                let Some(b) = backend() else { return };
                login_attempts::concurrent_failures_count_exactly(&*b.login_attempts, &b.tenant);
            }

            #[test]
            fn identity_providers_put_get_list_delete() {
                let Some(b) = backend() else { return };
                federation::providers_put_get_list_delete(
                    &*b.identity_providers,
                    &b.tenant,
                    &b.other_tenant,
                );
            }

            #[test]
            fn identity_links_find_list_and_unlink() {
                let Some(b) = backend() else { return };
                federation::links_find_list_and_unlink(
                    &*b.users,
                    &*b.identity_links,
                    &b.tenant,
                    &b.other_tenant,
                );
            }

            #[test]
            fn identity_links_go_with_their_user() {
                let Some(b) = backend() else { return };
                federation::links_go_with_their_user(&b);
            }

            #[test]
            fn identity_links_concurrent_links_one_wins() {
                let Some(b) = backend() else { return };
                federation::concurrent_links_one_wins(&*b.users, &*b.identity_links, &b.tenant);
            }

            #[test]
            fn identity_corrupt_records_are_errors() {
                let Some(b) = backend() else { return };
                federation::corrupt_records_are_errors(&b);
            }

            #[test]
            fn keys_add_and_list_in_order() {
                let Some(b) = backend() else { return };
                keys::add_and_list_in_order(&*b.keys, &b.tenant);
            }

            #[test]
            fn keys_kids_are_unique_per_tenant() {
                let Some(b) = backend() else { return };
                keys::kids_are_unique_per_tenant(&*b.keys, &b.tenant, &b.other_tenant);
            }
        }
    };
}

contract_suite!(memory, Some(Backend::memory()));
contract_suite!(sqlite_file, Some(Backend::sqlite_file()));
contract_suite!(sqlite_memory, Some(Backend::sqlite_memory()));
contract_suite!(postgres, Backend::postgres());
