DROP INDEX credentials_federated_id;
DROP TABLE identity_providers;
