/*
 * Intel ACPI Component Architecture
 *
 *
 * ACPI Data Table [XSDT]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "XSDT"    [Extended System Description Table]
[004h 0004   4]                 Table Length : 0000003C
[008h 0008   1]                     Revision : 01
[009h 0009   1]                     Checksum : B1
[00Ah 0010   6]                       Oem ID : "CELLVM"
[010h 0016   8]                 Oem Table ID : "CVMXSDT "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "CVMM"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   8]       ACPI Table Address   0 : 00000000000E2678
[02Ch 0044   8]       ACPI Table Address   1 : 00000000000E2790
[034h 0052   8]       ACPI Table Address   2 : 00000000000E27E8

Raw Table Data: Length 60 (0x3C)

    0000: 58 53 44 54 3C 00 00 00 01 B1 43 45 4C 4C 56 4D  // XSDT<.....CELLVM
    0010: 43 56 4D 58 53 44 54 20 01 00 00 00 43 56 4D 4D  // CVMXSDT ....CVMM
    0020: 01 00 00 00 78 26 0E 00 00 00 00 00 90 27 0E 00  // ....x&.......'..
    0030: 00 00 00 00 E8 27 0E 00 00 00 00 00              // .....'......
