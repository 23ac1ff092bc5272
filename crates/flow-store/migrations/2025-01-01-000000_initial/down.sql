DROP TABLE signing_keys;
DROP TABLE one_time_codes;
DROP TABLE credentials;
DROP TABLE users;
DROP TABLE executions;
DROP TABLE flow_versions;
DROP TABLE flows;
