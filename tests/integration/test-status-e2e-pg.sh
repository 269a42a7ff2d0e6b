#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# test-status-e2e.sh with napsited's store on PostgreSQL.
exec bash "$(dirname "$0")/test-status-e2e.sh" pg
