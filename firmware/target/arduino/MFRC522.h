// Stand-in for miguelbalboa/MFRC522's MFRC522.h (1.4): declarations only (see README.md).
#pragma once

#include <Arduino.h>

class MFRC522 {
 public:
  enum StatusCode : byte { STATUS_OK, STATUS_ERROR, STATUS_TIMEOUT };
  struct Uid {
    byte size;  // 4, 7 or 10 bytes
    byte uidByte[10];
    byte sak;
  };

  MFRC522(byte chipSelectPin, byte resetPowerDownPin);
  void PCD_Init();
  bool PICC_IsNewCardPresent();
  bool PICC_ReadCardSerial();
  StatusCode PICC_HaltA();

  Uid uid;
};
