DROP TABLE totp_credentials;
