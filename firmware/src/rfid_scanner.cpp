#include "rfid_scanner.h"

#include <SPI.h>

#include "card_uid.h"

void RfidScanner::begin() {
  SPI.begin();
  rc522_.PCD_Init();
}

std::string RfidScanner::poll() {
  if (!rc522_.PICC_IsNewCardPresent() || !rc522_.PICC_ReadCardSerial()) return "";
  const auto uid = zias::formatCardUid(rc522_.uid.uidByte, rc522_.uid.size);
  // Halting the card makes it ignore further wake-ups until it leaves the
  // field, so a card resting on the reader is read once, not every loop.
  rc522_.PICC_HaltA();
  return uid ? *uid : "";
}
