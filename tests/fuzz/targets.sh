# The fuzz targets (tests/fuzz/CMakeLists.txt), sourced by smoke.sh and long_run.sh. Each has its
# seed corpus in corpus/<name>.
FUZZ_TARGETS=(protocol startup scram admin_command sql http_request config client_values session session_state)
