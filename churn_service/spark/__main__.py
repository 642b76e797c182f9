"""`python -m churn_service.spark --registry DIR --input TABLE --output OUT` (see `job`)."""
import sys

from churn_service.spark.job import main

sys.exit(main())
