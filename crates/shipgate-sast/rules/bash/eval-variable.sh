#!/bin/bash

run() {
  # ruleid: bash.eval-variable
  eval "$1"
  # ruleid: bash.eval-variable
  eval $USER_CMD
  # ok: bash.eval-variable
  eval "echo ready"
  # ok: bash.eval-variable
  "$@"
}
