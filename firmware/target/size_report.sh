#!/bin/sh
# Prints the ESP8266 image's flash and static RAM and fails when either is over
# its budget (FLASH_BUDGET, RAM_BUDGET, in bytes). Flash holds the code, the
# constants and the initial values of data; static RAM holds data, constants
# (the Arduino core keeps .rodata in RAM unless marked PROGMEM) and bss.
set -eu
elf=$1
"$XSIZE" "$elf"
"$XSIZE" -A "$elf" | awk -v flash_budget="$FLASH_BUDGET" -v ram_budget="$RAM_BUDGET" '
  $1 == ".irom0.text" { text = $2 }
  $1 == ".data" { data = $2 }
  $1 == ".rodata" { rodata = $2 }
  $1 == ".bss" { bss = $2 }
  END {
    flash = text + data + rodata
    ram = data + rodata + bss
    printf "ESP8266 core image: text %d, data %d, rodata %d, bss %d bytes\n", text, data, rodata, bss
    printf "flash       %6d bytes (text + data + rodata), budget %d: %s\n", flash, flash_budget, flash <= flash_budget ? "ok" : "OVER"
    printf "static RAM  %6d bytes (data + rodata + bss), budget %d: %s\n", ram, ram_budget, ram <= ram_budget ? "ok" : "OVER"
    if (flash > flash_budget || ram > ram_budget) exit 1
  }'
