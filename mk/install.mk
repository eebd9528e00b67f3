# mk/install.mk: make install, make uninstall and make check-man, included
# by the top Makefile.  It owns these three targets and nothing else; it
# assumes the top Makefile's PREFIX, BINDIR, MANDIR, TOOLS and `all`.
#
#   make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]
#       $(BINDIR)/sdocker_run, sdocker_exec                     0755
#       $(MANDIR)/man1/sdocker_run.1, sdocker_exec.1            0644
#       $(PREFIX)/share/bash-completion/completions/sdocker_run 0644
#       .../completions/sdocker_exec -> sdocker_run (symlink)
#   make uninstall [same variables]     removes exactly those files
#   make check-man                      groff -ww (and mandoc -T lint when
#                                       installed): fails on any message
#
# The completion goes where bash-completion looks for it on demand: it loads
# completions/NAME the first time NAME is completed, so sdocker_exec needs
# an entry of its own; a relative symlink keeps one copy of the script.

COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
MANPAGES      := man/sdocker_run.1 man/sdocker_exec.1
COMPLETION    := completion/sdocker.bash

.PHONY: install uninstall check-man

install: all
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(TOOLS) $(DESTDIR)$(BINDIR)/
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(COMPLETION) $(DESTDIR)$(COMPLETIONDIR)/sdocker_run
	ln -sfn sdocker_run $(DESTDIR)$(COMPLETIONDIR)/sdocker_exec

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS)) \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANPAGES))) \
		$(DESTDIR)$(COMPLETIONDIR)/sdocker_run \
		$(DESTDIR)$(COMPLETIONDIR)/sdocker_exec

# groff prints nothing when a page is clean; any output is a warning.
# mandoc -T lint is stricter and optional: CI installs groff (groff-base)
# for man(1); mandoc is used when it is there.
check-man: $(MANPAGES)
	@command -v groff >/dev/null || { echo "check-man: groff is not installed (apt-get install groff-base)"; exit 1; }
	@rc=0; for page in $(MANPAGES); do \
		out=$$(groff -ww -z -man -Tutf8 "$$page" 2>&1); \
		if [ -n "$$out" ]; then echo "$$page: groff -ww:"; echo "$$out"; rc=1; fi; \
		if command -v mandoc >/dev/null; then \
			out=$$(mandoc -T lint -W style "$$page" 2>&1); \
			if [ -n "$$out" ]; then echo "$$page: mandoc -T lint:"; echo "$$out"; rc=1; fi; \
		fi; \
	done; \
	if [ $$rc -eq 0 ]; then echo "check-man: $(MANPAGES) clean"; fi; \
	exit $$rc
