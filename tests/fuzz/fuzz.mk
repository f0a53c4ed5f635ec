# Fuzzing (tests/fuzz/README.md), included by the top-level Makefile.
#
#
# It uses only VERSION, WARN, CC and CFLAGS of the Makefile.
#
#   make fuzz           build each target with clang + libFuzzer + ASan/UBSan
#                       and run it for FUZZ_SECONDS (default 60) on its
#                       corpus; new inputs go to tests/bin/fuzz/corpus/T,
#                       crashes to tests/bin/fuzz/crashes/T/ (-j2: two at a
#                       time)
#                       FUZZ_EXTRA=-DFUZZ_KNOWN_BUGS builds targets that look
#                       past the bugs kept in tests/fuzz/regress/ (then run
#                       `make clean` or remove tests/bin/fuzz to go back)
#   make fuzz-merge     merge tests/bin/fuzz/corpus/T into tests/fuzz/corpus/T
#                       (only inputs that add edges: -use_counters=0 keeps
#                       the checked-in corpora small)
#   make fuzz-replay    build each target with $(CC), replay.c and the usual
#                       CFLAGS + ASan/UBSan, and run it over tests/fuzz/corpus/T
#                       and tests/fuzz/regress/T (no clang needed)
#   make fuzz-seeds     regenerate the seed-* files of tests/fuzz/corpus/

FUZZ_TARGETS = noise_responder link_frame front_frame fcgi_request \
	json_check relay_answer translate
FUZZ_SECONDS ?= 60
FUZZ_CLANG ?= clang
FUZZ_OUT = tests/bin/fuzz
REPLAY_OUT = tests/bin/replay

# Longest input per target: a handshake is 148 bytes; the others must hold
# a whole link or front frame, or a 60000-byte body.
FUZZ_MAXLEN_noise_responder = 512
FUZZ_MAXLEN_link_frame = 70000
FUZZ_MAXLEN_front_frame = 70000
FUZZ_MAXLEN_fcgi_request = 70000
FUZZ_MAXLEN_json_check = 65536
FUZZ_MAXLEN_relay_answer = 70000
FUZZ_MAXLEN_translate = 60001

FUZZ_DEFS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DAWTRIX_VERSION='"$(VERSION)"' -Ilib -Itests/fuzz
# clang's -Wformat=2 also flags the vfprintf of lib/log.c: warnings are
# shown but do not stop a fuzzing run.
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	$(FUZZ_DEFS) $(filter-out -Werror,$(WARN)) -Wno-format-nonliteral \
	$(FUZZ_EXTRA)
REPLAY_CFLAGS = $(filter-out -MMD -MP,$(CFLAGS)) -Itests/fuzz \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_LDLIBS = -lsodium -ljson-c
# What the targets #include besides lib/ (fcgi/*.c, device-agent/device.c,
# device-agent/translate.c, device-agent/modes.c).
FUZZ_DEPS = tests/fuzz/fuzz.h $(wildcard lib/*.h fcgi/*.c fcgi/*.h) \
	device-agent/device.c device-agent/device.h \
	device-agent/translate.c device-agent/translate.h \
	device-agent/modes.c device-agent/modes.h \
	device-agent/policy.c device-agent/policy.h

# lib/ compiled once per flavour into its own archive, so that a target
# may replace a member (fuzz_relay_answer has a quiet lib/log.c).
FUZZ_LIB_OBJ = $(patsubst lib/%.c,$(FUZZ_OUT)/lib/%.o,$(wildcard lib/*.c))
REPLAY_LIB_OBJ = $(patsubst lib/%.c,$(REPLAY_OUT)/lib/%.o,$(wildcard lib/*.c))

$(FUZZ_OUT)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) -c -o $@ $<

$(REPLAY_OUT)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(REPLAY_CFLAGS) -c -o $@ $<

$(FUZZ_OUT)/libawtrix.a: $(FUZZ_LIB_OBJ)
	$(AR) rcs $@ $^

$(REPLAY_OUT)/libawtrix.a: $(REPLAY_LIB_OBJ)
	$(AR) rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS) $(FUZZ_OUT)/libawtrix.a
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OUT)/libawtrix.a \
	    $(FUZZ_LDLIBS)

$(REPLAY_OUT)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_DEPS) \
    $(REPLAY_OUT)/libawtrix.a
	$(CC) $(REPLAY_CFLAGS) -o $@ $< tests/fuzz/replay.c \
	    $(REPLAY_OUT)/libawtrix.a $(FUZZ_LDLIBS)

fuzz: $(addprefix fuzz-run-,$(FUZZ_TARGETS))

fuzz-run-%: $(FUZZ_OUT)/fuzz_%
	@mkdir -p $(FUZZ_OUT)/corpus/$* $(FUZZ_OUT)/crashes/$*
	$< -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAXLEN_$*) \
	    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_OUT)/crashes/$*/ \
	    $(FUZZ_OUT)/corpus/$* tests/fuzz/corpus/$* \
	    $(wildcard tests/fuzz/regress/$*)

fuzz-merge: $(addprefix fuzz-merge-,$(FUZZ_TARGETS))

fuzz-merge-%: $(FUZZ_OUT)/fuzz_%
	@mkdir -p $(FUZZ_OUT)/corpus/$*
	$< -merge=1 -use_counters=0 -max_len=$(FUZZ_MAXLEN_$*) \
	    tests/fuzz/corpus/$* $(FUZZ_OUT)/corpus/$*

fuzz-replay: $(addprefix fuzz-replay-,$(FUZZ_TARGETS))

fuzz-replay-%: $(REPLAY_OUT)/fuzz_%
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=abort_on_error=1:print_stacktrace=1 \
	    $< tests/fuzz/corpus/$* $(wildcard tests/fuzz/regress/$*)

$(REPLAY_OUT)/gen_seeds: tests/fuzz/gen_seeds.c tests/fuzz/fuzz.h \
    $(REPLAY_OUT)/libawtrix.a
	$(CC) $(REPLAY_CFLAGS) -o $@ $< $(REPLAY_OUT)/libawtrix.a -lsodium

fuzz-seeds: $(REPLAY_OUT)/gen_seeds
	$< tests/fuzz/corpus

.PHONY: fuzz fuzz-merge fuzz-replay fuzz-seeds
