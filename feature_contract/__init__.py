"""The feature contract (DESIGN §2): one package, without scikit-learn, that training, churn and marketing
all import, so a record is prepared the same way at fit time, at score time and before it is stored."""
from feature_contract.customer_id import CUSTOMER_ID_MAX, all_customer_ids, is_customer_id
from feature_contract.decision import churns
from feature_contract.fast_path import parse_canonical, parse_record
from feature_contract.fields import BINARY, CATEGORICAL, FEATURES, NUMERIC, schema
from feature_contract.parsing import FieldError, InvalidRecord, model_features, normalise_value, parse_record_in_full

__all__ = ["BINARY", "CATEGORICAL", "CUSTOMER_ID_MAX", "FEATURES", "NUMERIC", "FieldError", "InvalidRecord",
           "all_customer_ids", "churns", "is_customer_id", "model_features", "normalise_value", "parse_canonical",
           "parse_record", "parse_record_in_full", "schema"]
