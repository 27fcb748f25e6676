# The two commands of the README: `make bench` and `make test`.
GO ?= go

.PHONY: test bench vet generate check-generate

# test: vet (amd64 and 386), the tests, the tests under the race detector and
# the tests as 386.
test: vet
	$(GO) test ./...
	$(GO) test -race ./...
	GOARCH=386 $(GO) test ./...

vet:
	$(GO) vet ./...
	GOARCH=386 $(GO) vet ./...
	cd gen && $(GO) vet ./...

# bench: the benchmark report (aco against iter.Pull and goroutine+channel,
# measured in one run).
bench:
	$(GO) run ./cmd/acobench

generate:
	$(GO) generate ./...

# check-generate fails if go generate changes any committed file.
check-generate: generate
	git diff --exit-code
