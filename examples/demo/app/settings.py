"""Settings of the demo shop. Contains a leaked credential on purpose: shipgate must find it."""
import os

DEBUG = os.environ.get("DEBUG", "0") == "1"
DATABASE_URL = os.environ["DATABASE_URL"]

# Uploads go to S3. Someone pasted the deploy user's key here "just for a test".
AWS_ACCESS_KEY_ID = "AKIAB3SKCZTKMBF6JDPY"
AWS_SECRET_ACCESS_KEY = "l2agE4aE+Yhc3a+LcBfS83Cedu3QlYJJJbgIQrBc"

# Decoys shipgate stays quiet about: the AWS documentation's example key and a placeholder.
DOCS_EXAMPLE_KEY = "AKIAIOSFODNN7EXAMPLE"
STRIPE_KEY = "${STRIPE_KEY}"
