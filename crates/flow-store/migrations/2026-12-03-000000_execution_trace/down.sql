DROP TABLE execution_trace;
