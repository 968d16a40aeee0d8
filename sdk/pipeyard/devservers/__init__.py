"""Local stand-ins for company services, for `pipeyard demo` and the tests: real
protocol peers on loopback, never mocks."""
