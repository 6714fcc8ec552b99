#!/usr/bin/env node
import "../dist/hef.mjs";
