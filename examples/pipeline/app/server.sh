#!/bin/sh
# The sample service: prints a greeting. Built into the image by the pipeline.
echo "hello from the shipgate sample pipeline"
