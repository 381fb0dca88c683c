/*
 * Intel ACPI Component Architecture
 *
 *
 * ACPI Data Table [XSDT]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "XSDT"    [Extended System Description Table]
[004h 0004   4]                 Table Length : 00000034
[008h 0008   1]                     Revision : 01
[009h 0009   1]                     Checksum : 23
[00Ah 0010   6]                       Oem ID : "CELLVM"
[010h 0016   8]                 Oem Table ID : "CVMXSDT "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "CVMM"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   8]       ACPI Table Address   0 : 00000000000E07F0
[02Ch 0044   8]       ACPI Table Address   1 : 00000000000E0908

Raw Table Data: Length 52 (0x34)

    0000: 58 53 44 54 34 00 00 00 01 23 43 45 4C 4C 56 4D  // XSDT4....#CELLVM
    0010: 43 56 4D 58 53 44 54 20 01 00 00 00 43 56 4D 4D  // CVMXSDT ....CVMM
    0020: 01 00 00 00 F0 07 0E 00 00 00 00 00 08 09 0E 00  // ................
    0030: 00 00 00 00                                      // ....
