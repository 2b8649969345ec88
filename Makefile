# Front door for people: `make demo` runs the bundled example, `make check` runs every test.
# Both install the Debian packages they need first (scripts/install-deps.sh).
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build demo check check-asan bench install clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) >/dev/null

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	./examples/demo.sh $(BUILD)/src/cli/sysbroker

check: build
	./tests/run.sh $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null

check-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./tests/run.sh $(ASAN_BUILD)

bench: build
	./bench/run.sh $(BUILD)
	./bench/floor.sh $(BUILD)
	./bench/agent.sh $(BUILD)

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
