"""`pipeyard demo` and the local pipeline runs: gitlab-ci-local with its helper image, and local
stand-ins for company services (the Nexus mirror), real protocol peers on loopback, never mocks."""
