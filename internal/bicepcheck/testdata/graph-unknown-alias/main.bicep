extension microsoftGraphBeta // want `extension microsoftGraphBeta: no bicepconfig.json`
