/*
 * Intel ACPI Component Architecture
 *
 *
 * ACPI Data Table [SLIT]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "SLIT"    [System Locality Information Table]
[004h 0004   4]                 Table Length : 00000030
[008h 0008   1]                     Revision : 01
[009h 0009   1]                     Checksum : 16
[00Ah 0010   6]                       Oem ID : "CELLVM"
[010h 0016   8]                 Oem Table ID : "CVMSLIT "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "CVMM"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   8]                   Localities : 0000000000000002
[02Ch 0044   2]                 Locality   0 : 0A 14
[02Eh 0046   2]                 Locality   1 : 19 0A

Raw Table Data: Length 48 (0x30)

    0000: 53 4C 49 54 30 00 00 00 01 16 43 45 4C 4C 56 4D  // SLIT0.....CELLVM
    0010: 43 56 4D 53 4C 49 54 20 01 00 00 00 43 56 4D 4D  // CVMSLIT ....CVMM
    0020: 01 00 00 00 02 00 00 00 00 00 00 00 0A 14 19 0A  // ................
