# Entry points a newcomer needs; the README lists them.
PIPENV := PIPENV_VENV_IN_PROJECT=1 python3 -m pipenv

.PHONY: test install train serve-churn serve-marketing lint bench

test: install  ## install everything the tests need, then run them all
	$(PIPENV) run pytest

install:
	bash scripts/install-test-deps.sh

train:  ## train the model into models/
	$(PIPENV) run python -m train

serve-churn:
	$(PIPENV) run gunicorn -c churn_service/gunicorn.conf.py 'churn_service:create_app()'

serve-marketing:
	$(PIPENV) run gunicorn -c marketing_service/gunicorn.conf.py 'marketing_service:create_app()'

lint:
	$(PIPENV) run ruff check .

bench:  ## measure scoring and serving; writes bench/results/latest.{json,md}
	$(PIPENV) run python -m bench
