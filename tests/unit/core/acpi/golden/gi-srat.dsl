/*
 * Intel ACPI Component Architecture
 *
 *
 * ACPI Data Table [SRAT]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "SRAT"    [System Resource Affinity Table]
[004h 0004   4]                 Table Length : 000000C8
[008h 0008   1]                     Revision : 03
[009h 0009   1]                     Checksum : 63
[00Ah 0010   6]                       Oem ID : "CELLVM"
[010h 0016   8]                 Oem Table ID : "CVMSRAT "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "CVMM"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   4]               Table Revision : 00000001
[028h 0040   8]                     Reserved : 0000000000000000

[030h 0048   1]                Subtable Type : 00 [Processor Local APIC/SAPIC Affinity]
[031h 0049   1]                       Length : 10

[032h 0050   1]      Proximity Domain Low(8) : 00
[033h 0051   1]                      Apic ID : 00
[034h 0052   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[038h 0056   1]              Local Sapic EID : 00
[039h 0057   3]    Proximity Domain High(24) : 000000
[03Ch 0060   4]                 Clock Domain : 00000000

[040h 0064   1]                Subtable Type : 01 [Memory Affinity]
[041h 0065   1]                       Length : 28

[042h 0066   4]             Proximity Domain : 00000000
[046h 0070   2]                    Reserved1 : 0000
[048h 0072   8]                 Base Address : 0000000000000000
[050h 0080   8]               Address Length : 0000000040000000
[058h 0088   4]                    Reserved2 : 00000000
[05Ch 0092   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
                               Hot Pluggable : 0
                                Non-Volatile : 0
[060h 0096   8]                    Reserved3 : 0000000000000000

[068h 0104   1]                Subtable Type : 05 [Generic Initiator Affinity]
[069h 0105   1]                       Length : 20

[06Ah 0106   1]                    Reserved1 : 00
[06Bh 0107   1]           Device Handle Type : 01
[06Ch 0108   4]             Proximity Domain : 00000002
[070h 0112  16]                Device Handle : 00 00 18 00 00 00 00 00 00 00 00 00 00 00 00 00
[080h 0128   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[084h 0132   4]                    Reserved2 : 00000000

[088h 0136   1]                Subtable Type : 05 [Generic Initiator Affinity]
[089h 0137   1]                       Length : 20

[08Ah 0138   1]                    Reserved1 : 00
[08Bh 0139   1]           Device Handle Type : 01
[08Ch 0140   4]             Proximity Domain : 00000001
[090h 0144  16]                Device Handle : 00 00 28 00 00 00 00 00 00 00 00 00 00 00 00 00
[0A0h 0160   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[0A4h 0164   4]                    Reserved2 : 00000000

[0A8h 0168   1]                Subtable Type : 05 [Generic Initiator Affinity]
[0A9h 0169   1]                       Length : 20

[0AAh 0170   1]                    Reserved1 : 00
[0ABh 0171   1]           Device Handle Type : 01
[0ACh 0172   4]             Proximity Domain : 00000002
[0B0h 0176  16]                Device Handle : 00 00 2A 00 00 00 00 00 00 00 00 00 00 00 00 00
[0C0h 0192   4]        Flags (decoded below) : 00000001
                                     Enabled : 1
[0C4h 0196   4]                    Reserved2 : 00000000

Raw Table Data: Length 200 (0xC8)

    0000: 53 52 41 54 C8 00 00 00 03 63 43 45 4C 4C 56 4D  // SRAT.....cCELLVM
    0010: 43 56 4D 53 52 41 54 20 01 00 00 00 43 56 4D 4D  // CVMSRAT ....CVMM
    0020: 01 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0030: 00 10 00 00 01 00 00 00 00 00 00 00 00 00 00 00  // ................
    0040: 01 28 00 00 00 00 00 00 00 00 00 00 00 00 00 00  // .(..............
    0050: 00 00 00 40 00 00 00 00 00 00 00 00 01 00 00 00  // ...@............
    0060: 00 00 00 00 00 00 00 00 05 20 00 01 02 00 00 00  // ......... ......
    0070: 00 00 18 00 00 00 00 00 00 00 00 00 00 00 00 00  // ................
    0080: 01 00 00 00 00 00 00 00 05 20 00 01 01 00 00 00  // ......... ......
    0090: 00 00 28 00 00 00 00 00 00 00 00 00 00 00 00 00  // ..(.............
    00A0: 01 00 00 00 00 00 00 00 05 20 00 01 02 00 00 00  // ......... ......
    00B0: 00 00 2A 00 00 00 00 00 00 00 00 00 00 00 00 00  // ..*.............
    00C0: 01 00 00 00 00 00 00 00                          // ........
