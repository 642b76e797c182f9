"""`python -m churn_service.spark_score`: the command's first name, kept so scripts written against it run as
before; the job lives in `churn_service.spark` (`python -m churn_service.spark`)."""
import sys

from churn_service.spark.job import main

if __name__ == "__main__":
    sys.exit(main())
