DROP INDEX credentials_passkey_id;
