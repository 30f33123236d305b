// The RC522 card reader, reduced to "which card was just presented, if any".
#pragma once

#include <MFRC522.h>

#include <string>

class RfidScanner {
 public:
  RfidScanner(uint8_t selectPin, uint8_t resetPin) : rc522_(selectPin, resetPin) {}

  void begin();
  // Formatted UID of a newly presented card, or "" when there is none.
  std::string poll();

 private:
  MFRC522 rc522_;
};
