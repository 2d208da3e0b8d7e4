# Headless Chromium for the HTML report's browser test
# (cmd/wasicert TestReportHTMLInChromium, driven with chromedp).
#   chromium   apt-get install Debian's chromium (and a font) when missing
.PHONY: chromium

chromium:
	@missing=; \
	for p in chromium fonts-dejavu-core; do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "chromium: installed: $$(dpkg-query -W -f='$${Version}' chromium)"; \
	else echo "chromium: installing$$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; fi
